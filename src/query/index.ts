/** The query engine: `queryState(source, query)` and the query's types (docs/queries.md). */
export { queryState, runPlan } from './run.js';
export { compileQuery, queryFields } from './plan.js';
export type { Query, QueryResult, Filter, FieldTests, Operand } from './spec.js';
