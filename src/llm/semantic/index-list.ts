/**
 * Inverted lists of the in-process vector index: contiguous vectors (int8 codes with a per-vector scale, or float32),
 * scanned with an unrolled dot product into a small best-first collector. Removal swaps the last vector into the gap.
 */

/** How vectors are stored: int8 codes with a per-vector scale (4× smaller, bounded error) or float32 (exact). */
export type VectorPrecision = 'int8' | 'float32';

/** Where a stored vector lives; its list and position change as lists split, merge and compact. */
export interface Slot {
  readonly id: string;
  readonly partition: string;
  list: InvertedList;
  pos: number;
}

/** The best `capacity` slots seen so far by similarity, best first. */
export class TopK {
  readonly slots: Slot[] = [];
  readonly sims: number[] = [];
  readonly errors: number[] = [];
  /** Similarity a candidate must beat to enter (−∞ until full). */
  floor = -Infinity;

  constructor(readonly capacity: number) {}

  /** Offers a candidate. */
  offer(slot: Slot, sim: number, error: number): void {
    if (sim <= this.floor) return;
    let at = this.sims.length;
    while (at > 0 && this.sims[at - 1]! < sim) at--;
    this.slots.splice(at, 0, slot);
    this.sims.splice(at, 0, sim);
    this.errors.splice(at, 0, error);
    if (this.sims.length > this.capacity) {
      this.slots.pop();
      this.sims.pop();
      this.errors.pop();
    }
    if (this.sims.length === this.capacity) this.floor = this.sims[this.capacity - 1]!;
  }
}

/** Quantises unit vector `unit` into `codes` at `offset`; returns the scale and the exact error bound ‖v − v̂‖. */
function quantise(unit: Float64Array, codes: Int8Array, offset: number): { scale: number; error: number } {
  let max = 0;
  for (let i = 0; i < unit.length; i++) max = Math.max(max, Math.abs(unit[i]!));
  const scale = Math.fround(max / 127);
  let residual = 0;
  for (let i = 0; i < unit.length; i++) {
    const code = Math.round(unit[i]! / scale);
    codes[offset + i] = code;
    const diff = unit[i]! - code * scale;
    residual += diff * diff;
  }
  // Rounded up a little so that float32 storage of the bound never makes it smaller than the true error.
  return { scale, error: Math.sqrt(residual) * (1 + 1e-6) + 1e-7 };
}

/** One inverted list: its vectors, their slots, and the running sum of its vectors (for its centroid). */
export class InvertedList {
  count = 0;
  slots: Slot[] = [];
  data: Int8Array | Float32Array;
  scales: Float32Array;
  errors: Float32Array;
  /** Sum of the (stored, dequantised) vectors: the centroid is sum / count. */
  readonly sum: Float64Array;

  constructor(
    readonly dims: number,
    readonly precision: VectorPrecision,
    capacity = 16,
  ) {
    this.data = precision === 'int8' ? new Int8Array(capacity * dims) : new Float32Array(capacity * dims);
    this.scales = new Float32Array(capacity);
    this.errors = new Float32Array(capacity);
    this.sum = new Float64Array(dims);
  }

  /** Allocated vector slots. */
  get capacity(): number {
    return this.scales.length;
  }

  /** Bytes held by this list's arrays. */
  bytes(): number {
    return (
      this.data.byteLength +
      this.scales.byteLength +
      this.errors.byteLength +
      this.sum.byteLength +
      8 * this.slots.length
    );
  }

  private reserve(): number {
    if (this.count === this.capacity) {
      const capacity = this.capacity + Math.max(16, this.capacity >> 2);
      const data =
        this.precision === 'int8' ? new Int8Array(capacity * this.dims) : new Float32Array(capacity * this.dims);
      data.set(this.data);
      this.data = data;
      const scales = new Float32Array(capacity);
      scales.set(this.scales);
      this.scales = scales;
      const errors = new Float32Array(capacity);
      errors.set(this.errors);
      this.errors = errors;
    }
    return this.count++;
  }

  /** Appends a unit vector for `slot`. */
  push(slot: Slot, unit: Float64Array): void {
    const pos = this.reserve();
    const offset = pos * this.dims;
    if (this.data instanceof Int8Array) {
      const { scale, error } = quantise(unit, this.data, offset);
      this.scales[pos] = scale;
      this.errors[pos] = error;
    } else {
      this.data.set(unit, offset);
      this.scales[pos] = 1;
      this.errors[pos] = 0;
    }
    this.attach(slot, pos);
  }

  /** Appends the vector at `pos` of `from` (already stored: copied as is, never quantised twice). */
  pushFrom(from: InvertedList, pos: number): void {
    const slot = from.slots[pos]!;
    const to = this.reserve();
    const d = this.dims;
    this.data.set(from.data.subarray(pos * d, pos * d + d), to * d);
    this.scales[to] = from.scales[pos]!;
    this.errors[to] = from.errors[pos]!;
    this.attach(slot, to);
  }

  private attach(slot: Slot, pos: number): void {
    this.slots[pos] = slot;
    slot.list = this;
    slot.pos = pos;
    this.accumulate(pos, 1);
  }

  /** Adds (sign 1) or subtracts (sign −1) the stored vector at `pos` to the running sum. */
  private accumulate(pos: number, sign: 1 | -1): void {
    const d = this.dims;
    const offset = pos * d;
    const s = sign * this.scales[pos]!;
    for (let i = 0; i < d; i++) this.sum[i]! += s * this.data[offset + i]!;
  }

  /** Removes the vector at `pos`, moving the last one into its place. */
  removeAt(pos: number): void {
    this.accumulate(pos, -1);
    const last = this.count - 1;
    if (pos !== last) {
      const d = this.dims;
      this.data.copyWithin(pos * d, last * d, last * d + d);
      this.scales[pos] = this.scales[last]!;
      this.errors[pos] = this.errors[last]!;
      const moved = this.slots[last]!;
      this.slots[pos] = moved;
      moved.pos = pos;
    }
    this.slots.length = last;
    this.count = last;
    if (last === 0) this.sum.fill(0);
  }

  /** Writes the stored (dequantised) vector at `pos` into `out`. */
  read(pos: number, out: Float32Array | Float64Array): void {
    const d = this.dims;
    const offset = pos * d;
    const s = this.scales[pos]!;
    for (let i = 0; i < d; i++) out[i] = s * this.data[offset + i]!;
  }

  /** Offers every vector of the list to `top`, scored by dot product with unit query `q`. */
  scan(q: Float64Array, top: TopK): void {
    const d = this.dims;
    const data = this.data;
    const tail = d & 3;
    for (let pos = 0; pos < this.count; pos++) {
      const offset = pos * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let j = 0;
      for (; j < d - tail; j += 4) {
        s0 += q[j]! * data[offset + j]!;
        s1 += q[j + 1]! * data[offset + j + 1]!;
        s2 += q[j + 2]! * data[offset + j + 2]!;
        s3 += q[j + 3]! * data[offset + j + 3]!;
      }
      for (; j < d; j++) s0 += q[j]! * data[offset + j]!;
      const sim = (s0 + s1 + s2 + s3) * this.scales[pos]!;
      if (sim > top.floor) top.offer(this.slots[pos]!, sim, this.errors[pos]!);
    }
  }
}
