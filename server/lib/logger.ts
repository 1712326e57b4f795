import pino, { type Logger, type LevelWithSilent } from "pino";

export type { Logger };

/** Structured JSON logs (pino). Secrets never go in log fields; redaction is a safety net for the usual suspects. */
export function createLogger(level: LevelWithSilent = "info", name = "perkmint"): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ["*.privateKey", "*.password", "*.secret", "*.code", "req.headers.authorization", "req.headers.cookie"],
      censor: "[redacted]",
    },
  });
}
