/** A Map that forgets its oldest entries past `max`: immutable git objects only, keyed by id. */
export class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    if (this.map.size >= this.max) {
      let n = Math.ceil(this.max / 10);
      for (const key of this.map.keys()) {
        this.map.delete(key);
        if (--n <= 0) break;
      }
    }
    this.map.set(k, v);
  }
}
