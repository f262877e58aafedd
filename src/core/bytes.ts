/** Bytes that arrive as a Uint8Array (a structured clone, a driver) seen as a Buffer, without copying. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
