/**
 * Constants of the Arrow IPC encapsulated message format, shared by the encoder and the decoder
 * (https://arrow.apache.org/docs/format/Columnar.html#encapsulated-message-format).
 */

/** The continuation marker that starts every message (0xFFFFFFFF). */
export const CONTINUATION = 0xffffffff;

/** `n` rounded up to a multiple of 8 (metadata and body buffers are 8-byte aligned). */
export const pad8 = (n: number): number => (n + 7) & ~7;
