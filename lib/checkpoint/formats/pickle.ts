/**
 * A restricted unpickler for the pickles `torch.save` writes (protocol 2; the framing opcodes of
 * protocols 3-5 are accepted too).
 *
 * A pickle is a program: GLOBAL imports any Python callable and REDUCE calls it, which is how a
 * malicious checkpoint runs `os.system`. Here GLOBAL/STACK_GLOBAL resolve *only* names in the
 * caller's allow-list (`UnpickleOptions.globals`); anything else is refused with an error naming
 * the global. Python values map to JS as: int → number (bigint beyond 2^53), float → number,
 * str → string, bytes → Uint8Array, None → null, bool → boolean, list → array, tuple → frozen
 * array, dict → Map.
 *
 * @module
 */

/** An allow-listed Python callable that REDUCE may invoke with the unpickled argument tuple. */
export class PickleCallable {
  /**
   * @param name dotted Python name, for error messages
   * @param call builds the value from the argument tuple
   */
  constructor(readonly name: string, readonly call: (args: readonly unknown[]) => unknown) {}
}

/** A value that accepts BUILD (Python's `__setstate__`), e.g. an OrderedDict with attributes. */
export interface PickleStateful {
  /** Applies the BUILD state. */
  setState(state: unknown): void;
}

/** Options of `unpickle`. */
export interface UnpickleOptions {
  /** Names the pickle in errors (e.g. `model.pt:archive/data.pkl`). */
  source: string;
  /**
   * The allow-list: dotted name (`module.qualname`, e.g. `collections.OrderedDict`) → the value
   * GLOBAL pushes. Any other global is refused.
   */
  globals: ReadonlyMap<string, unknown>;
  /** Resolves BINPERSID ids (torch's storage references). Without it BINPERSID is refused. */
  persistentLoad?: (pid: unknown) => unknown;
}

/** Human-readable name of a Python-ish value's type, for error messages. */
export function pyTypeName(v: unknown): string {
  if (v === null) return "None";
  if (Array.isArray(v)) return Object.isFrozen(v) ? "tuple" : "list";
  if (v instanceof Map) return "dict";
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof PickleCallable) return `global ${v.name}`;
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

function isStateful(v: unknown): v is PickleStateful {
  return typeof v === "object" && v !== null &&
    typeof (v as Partial<PickleStateful>).setState === "function";
}

/**
 * Runs a pickle under the allow-list and returns the object it builds.
 * @throws Error naming the source, the opcode and its byte offset for unsupported opcodes,
 *   truncated data or malformed stacks; naming the global for anything not allow-listed.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const { source } = opts;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opAt = 0;
  let op = 0;

  const fail = (msg: string): never => {
    const name = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : "";
    throw new Error(
      `${source}: pickle opcode 0x${
        op.toString(16).padStart(2, "0")
      }${name} at offset ${opAt}: ${msg}`,
    );
  };
  const need = (n: number) => {
    if (n < 0 || pos + n > bytes.length) fail(`needs ${n} bytes but the pickle is truncated`);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), pos += 2, view.getUint16(pos - 2, true));
  const u32 = () => (need(4), pos += 4, view.getUint32(pos - 4, true));
  const i32 = () => (need(4), pos += 4, view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    pos += 8;
    const v = view.getBigUint64(pos - 8, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail("string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("unterminated line (truncated pickle)");
    const s = text(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || stack.length <= (marks.at(-1) ?? -1)) fail("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail("no MARK on the stack");
    return stack.splice(m!);
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const dotted = `${module}.${name}`;
    if (!opts.globals.has(dotted)) {
      fail(
        `refusing to load global "${dotted}": not in the allow-list of tensor ` +
          `reconstruction functions (the checkpoint may be malicious)`,
      );
    }
    return opts.globals.get(dotted);
  };
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? Number(v) : v;
  };
  const asDict = (d: unknown): Map<unknown, unknown> => {
    if (!(d instanceof Map)) fail(`expected a dict, got ${pyTypeName(d)}`);
    return d as Map<unknown, unknown>;
  };
  const asList = (l: unknown): unknown[] => {
    if (!Array.isArray(l) || Object.isFrozen(l)) fail(`expected a list, got ${pyTypeName(l)}`);
    return l as unknown[];
  };
  const tuple = (items: unknown[]) => Object.freeze(items);
  const memoKey = (k: number) => {
    if (!memo.has(k)) fail(`memo key ${k} is not defined`);
    return memo.get(k);
  };

  while (true) {
    opAt = pos;
    if (pos >= bytes.length) {
      op = 0;
      fail("pickle ended without STOP (truncated)");
    }
    op = bytes[pos++];
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol");
        break;
      case 0x95: // FRAME: a length prefix only; frames are parsed inline.
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail(`stack holds ${stack.length} items at STOP`);
        return stack[0];
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(long(take(i32())));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(take(u64())));
        break;
      case 0x54: // BINSTRING (Python 2 str; torch.load decodes it as UTF-8)
        stack.push(text(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoKey(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoKey(u32()));
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          fail("STACK_GLOBAL needs two strings");
        }
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail("persistent ids are not allowed here");
        try {
          stack.push(opts.persistentLoad!(pid));
        } catch (e) {
          fail((e as Error).message);
        }
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleCallable)) fail(`cannot call ${pyTypeName(fn)}`);
        if (!Array.isArray(args)) fail(`REDUCE arguments must be a tuple, got ${pyTypeName(args)}`);
        try {
          stack.push((fn as PickleCallable).call(args as unknown[]));
        } catch (e) {
          fail(`${(fn as PickleCallable).name}: ${(e as Error).message}`);
        }
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (!isStateful(obj)) fail(`cannot set state on ${pyTypeName(obj)}`);
        (obj as PickleStateful).setState(state);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        asDict(top()).set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) fail("SETITEMS needs key/value pairs");
        const d = asDict(top());
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        asList(top()).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = asList(top());
        for (const v of items) list.push(v);
        break;
      }
      default:
        fail("unsupported or unsafe opcode");
    }
  }
}
