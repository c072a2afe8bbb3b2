/**
 * `arrow-cluster-state/follower`: read a state directory from any other process.
 *
 * ```ts
 * import { followState } from 'arrow-cluster-state/follower';
 * const f = await followState('./.cluster-state');
 * f.on('change', (revision) => console.log(revision, f.snapshot().tasks.numRows));
 * ```
 */
export { followState, Follower, type FollowOptions } from './follower.js';
export { RemoteFollower, type RemoteFollowOptions, type RemoteFollowerStats } from './remote.js';
export type { FollowerEvents } from './events.js';
export type { Snapshot } from '../snapshot.js';
