/**
 * Where a loaded object came from, kept for the lines of its fields: the
 * object reached while loading (`Pending`, also the decoders' context) and
 * the source a loaded object keeps in private fields of its own (`Sourced`).
 */
import type { Diagnostic } from '../diag.js';
import type { DecodeContext } from './decode/index.js';
import type { LazyItems, SourceRef } from './parse.js';

/** The return-override idiom: `super(o)` makes `o` the object a subclass's private fields are added to. */
class Stamped {
  constructor(o: object) {
    return o;
  }
}

/**
 * A loaded object's source, for the lines of its fields (looked up lazily,
 * only when a diagnostic needs one), kept in private fields of the object
 * itself: found by the object's identity as a WeakMap key would be (a copy
 * has none), invisible to keys, spreads, JSON and comparisons, and without
 * the WeakMap's cost (150,000 entries, each weak, in young collections).
 * An item of a List read item by item keeps its items and index, its source
 * made when first asked for (150,000 of them were made and kept, asked for
 * by none).
 */
export class Sourced extends Stamped {
  #source: SourceRef | LazyItems;
  /** The item's index in `#source`'s items, or -1 when `#source` is the source. */
  #item: number;
  private constructor(o: object, source: SourceRef | LazyItems, item: number) {
    super(o);
    this.#source = source;
    this.#item = item;
  }

  static set(o: object, source: SourceRef): void {
    Sourced.put(o, source, -1);
  }

  /** `o`'s source is item `i` of `items`. */
  static setItem(o: object, items: LazyItems, i: number): void {
    Sourced.put(o, items, i);
  }

  private static put(o: object, source: SourceRef | LazyItems, item: number): void {
    if (#source in o) {
      (o as Sourced).#source = source;
      (o as Sourced).#item = item;
    } else new Sourced(o, source, item);
  }

  static get(o: object): SourceRef | undefined {
    if (!(#source in o)) return undefined;
    const s = o as Sourced;
    if (s.#item >= 0) {
      s.#source = (s.#source as LazyItems).source(s.#item);
      s.#item = -1;
    }
    return s.#source as SourceRef;
  }
}

/**
 * An object reached, and what a decoder reads beside it (DecodeContext): an
 * item of a List read item by item has its source made when first asked for
 * (a diagnostic's line), from its items and index.
 */
export class Pending implements DecodeContext {
  #source: SourceRef | undefined;
  constructor(
    readonly raw: Record<string, unknown>,
    readonly file: string,
    readonly document: number,
    readonly line: number,
    readonly item: number | undefined,
    source: SourceRef | undefined,
    /** The List's items this is item `item` of, when `source` is not given. */
    readonly items: LazyItems | undefined,
    readonly diagnostics: Diagnostic[],
  ) {
    this.#source = source;
  }

  get source(): SourceRef {
    return (this.#source ??= this.items!.source(this.item!));
  }

  /** Gives `o` this object's source (made only if it was asked for already). */
  stamp(o: object): void {
    if (this.#source === undefined) Sourced.setItem(o, this.items!, this.item!);
    else Sourced.set(o, this.#source);
  }
}
