import { inspect } from "node:util";

/**
 * A secret from configuration (a private key): held in a private field, so logging, JSON-encoding or inspecting the
 * configuration shows "[redacted]" and never the value. Only `reveal()` gives it, at the one place that uses it.
 */
export class Secret<T extends string = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString() {
    return "[redacted]";
  }
  toJSON() {
    return "[redacted]";
  }
  [inspect.custom]() {
    return "Secret([redacted])";
  }
}
