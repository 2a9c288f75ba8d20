/**
 * A minimal protocol buffers reader over one message's bytes: varints, length-delimited fields as
 * views of the same buffer (no copy), and skipping what is not wanted. The library decodes the two
 * messages it receives most — watch and keepalive responses — with it instead of the proto loader,
 * which builds a full object of every field, 64-bit numbers as strings through `long`, and copies it.
 */
export class ProtoReader {
  pos: number;

  constructor(readonly buffer: Buffer) {
    this.pos = 0;
  }

  /** The end of a length-delimited field that starts here (an embedded message): read up to it, then go on. */
  limit(): number {
    const length = this.uint();
    return this.pos + length;
  }

  /**
   * A varint as a non-negative number, exact below 2^53 (revisions, ids of watches, counts); larger
   * ones (uint64 ids, negative int64) are read by `int64` instead.
   */
  uint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = this.buffer[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  }

  /** A varint as a signed 64-bit integer, exactly (a lease id, a TTL of -1). */
  int64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.buffer[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
  }

  /** A length-delimited field's bytes, as a view of the message's buffer. */
  bytes(): Buffer {
    const length = this.uint();
    const start = this.pos;
    this.pos += length;
    return this.buffer.subarray(start, this.pos);
  }

  skip(wireType: number): void {
    if (wireType === 0) this.uint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos = this.limit();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
}

/** `value` (an int64 in decimal, e.g. a lease id) as a varint. */
export function encodeInt64(value: string): Buffer {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Buffer.from(bytes);
}
