import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Request } from "express";
import { getAddress, recoverMessageAddress, type Hex, type PublicClient } from "viem";
import { generateSiweNonce, parseSiweMessage } from "viem/siwe";
import type { PrismaClient } from "../database/client.ts";
import { HttpProblem, problemTitle } from "../http/problem.ts";
import type { Caller } from "../http/route.ts";

/**
 * Sign-In with Ethereum (EIP-4361), sessions and partner API keys. Every secret handed out (a session token, an API
 * key) is random, shown once, and kept only as its SHA-256; nothing here ever logs one.
 */

export const SESSION_COOKIE = "perkmint_session";
/** A nonce is good for this long after GET /v1/auth/nonce handed it out. */
export const NONCE_TTL_MS = 10 * 60 * 1000;
/** The clock skew allowed between the wallet that signed and this server. */
export const CLOCK_SKEW_MS = 60 * 1000;
/** lastSeenAt is written at most this often per session (a write per request would cost more than the read). */
const TOUCH_EVERY_MS = 60 * 1000;

const SESSION_PREFIX = "pms_";
const API_KEY_PREFIX = "pmk_";

export type AuthSettings = {
  /** The platform's public origin, e.g. https://perkmint.example: SIWE messages must name it. */
  publicUrl: string;
  chainId: number;
  /** Origins besides publicUrl whose pages may send cookie-authenticated unsafe requests. */
  corsOrigins: string[];
  operators: string[];
  sessionTtlSeconds: number;
  sessionIdleSeconds: number;
};

export type AuthDeps = { prisma: PrismaClient; publicClient: PublicClient; settings: AuthSettings; now?: () => Date };

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const unauthorized = (detail: string) => new HttpProblem(401, problemTitle(401), detail);

/** Whether cookies for this origin may go without Secure: plain-http localhost only. */
export function isLocalPlainHttp(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

export function sessionCookie(token: string, settings: AuthSettings): string {
  const secure = isLocalPlainHttp(settings.publicUrl) ? "" : "; Secure";
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${settings.sessionTtlSeconds}${secure}`;
}

export const clearedSessionCookie = (settings: AuthSettings) =>
  `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${isLocalPlainHttp(settings.publicUrl) ? "" : "; Secure"}`;

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class AuthService {
  private readonly deps: AuthDeps;
  constructor(deps: AuthDeps) {
    this.deps = deps;
  }
  private now() {
    return this.deps.now?.() ?? new Date();
  }

  /** A fresh single-use nonce (≥ 96 bits: viem's are 96 random alphanumerics), stored with its expiry. */
  async createNonce(): Promise<{ nonce: string; expiresAt: Date }> {
    const nonce = generateSiweNonce();
    const expiresAt = new Date(this.now().getTime() + NONCE_TTL_MS);
    await this.deps.prisma.authNonce.create({ data: { nonce, expiresAt } });
    // Expired nonces are swept now and then, on the way (no job needed for a table this small).
    if (Math.random() < 0.01) await this.deps.prisma.authNonce.deleteMany({ where: { expiresAt: { lt: this.now() } } });
    return { nonce, expiresAt };
  }

  /**
   * Checks a signed EIP-4361 message and opens a session. Every field viem's verifier leaves unchecked is checked
   * here first (domain, URI, chain id, issued-at, expiry, not-before, nonce); then the signature, for an EOA by
   * recovery and otherwise through the chain (EIP-1271 contract wallets, ERC-6492 counterfactual ones); only then is
   * the nonce consumed, atomically, so nobody can burn another wallet's nonce and a replay fails even in a race.
   */
  async signIn(
    message: string,
    signature: Hex,
  ): Promise<{ token: string; address: `0x${string}`; expiresAt: Date; firstSignIn: boolean }> {
    const { settings } = this.deps;
    const fields = parseSiweMessage(message);
    if (
      !fields.address ||
      !fields.domain ||
      !fields.uri ||
      !fields.nonce ||
      !fields.issuedAt ||
      fields.chainId === undefined ||
      fields.version !== "1"
    ) {
      throw unauthorized(
        "The message is not a Sign-In with Ethereum message (EIP-4361) with an address, domain, URI, version 1, chain id, nonce and issued-at.",
      );
    }
    const origin = new URL(settings.publicUrl);
    if (fields.domain !== origin.host)
      throw unauthorized(`The message is for ${fields.domain}; sign one for ${origin.host}.`);
    let uriOrigin: string | undefined;
    try {
      uriOrigin = new URL(fields.uri).origin;
    } catch {
      uriOrigin = undefined;
    }
    if (uriOrigin !== origin.origin) throw unauthorized(`The message's URI must be on ${origin.origin}.`);
    if (fields.chainId !== settings.chainId)
      throw unauthorized(
        `The message is for chain ${fields.chainId}; this platform indexes chain ${settings.chainId}.`,
      );
    const now = this.now().getTime();
    const issued = fields.issuedAt.getTime();
    if (issued > now + CLOCK_SKEW_MS)
      throw unauthorized("The message was issued in the future; check the device's clock.");
    if (issued < now - NONCE_TTL_MS - CLOCK_SKEW_MS) throw unauthorized("The message is too old; sign in again.");
    if (fields.expirationTime && fields.expirationTime.getTime() < now - CLOCK_SKEW_MS)
      throw unauthorized("The message has expired; sign in again.");
    if (fields.notBefore && fields.notBefore.getTime() > now + CLOCK_SKEW_MS)
      throw unauthorized("The message is not valid yet (notBefore).");
    const stored = await this.deps.prisma.authNonce.findUnique({ where: { nonce: fields.nonce } });
    if (!stored || stored.expiresAt.getTime() <= now)
      throw unauthorized("The nonce is unknown, used or expired; get a new one from GET /v1/auth/nonce.");

    const address = getAddress(fields.address);
    if (!(await this.signatureIsValid(message, signature, address, fields.domain, fields.nonce))) {
      throw unauthorized("The signature is not valid for the message's address.");
    }
    const consumed = await this.deps.prisma.authNonce.deleteMany({
      where: { nonce: fields.nonce, expiresAt: { gt: new Date(now) } },
    });
    if (consumed.count !== 1) throw unauthorized("The nonce was already used; get a new one from GET /v1/auth/nonce.");

    // Sessions are never deleted (revoked and expired ones stay), so none before this one means a first sign-in.
    const firstSignIn = (await this.deps.prisma.authSession.count({ where: { address: address.toLowerCase() } })) === 0;
    const token = `${SESSION_PREFIX}${randomBytes(32).toString("base64url")}`;
    const expiresAt = new Date(now + settings.sessionTtlSeconds * 1000);
    await this.deps.prisma.authSession.create({
      data: {
        tokenHash: sha256(token),
        address: address.toLowerCase(),
        createdAt: new Date(now),
        lastSeenAt: new Date(now),
        expiresAt,
      },
    });
    return { token, address, expiresAt, firstSignIn };
  }

  private async signatureIsValid(
    message: string,
    signature: Hex,
    address: `0x${string}`,
    domain: string,
    nonce: string,
  ) {
    // An EOA's signature is checked by recovery, without a round trip to the chain.
    const recovered = await recoverMessageAddress({ message, signature }).catch(() => undefined);
    if (recovered === address) return true;
    // Otherwise a contract wallet (EIP-1271) or a not-yet-deployed one (ERC-6492): the chain decides.
    return this.deps.publicClient.verifySiweMessage({ message, signature, domain, nonce }).catch(() => false);
  }

  /** Ends the session of `token` (logout). */
  async revokeSession(token: string): Promise<void> {
    await this.deps.prisma.authSession.updateMany({
      where: { tokenHash: sha256(token), revokedAt: null },
      data: { revokedAt: this.now() },
    });
  }

  /** The credential a request carries: a bearer token, else the session cookie; and where it came from. */
  credentialOf(req: Request): { token: string; from: "bearer" | "cookie" } | undefined {
    const authorization = req.get("authorization");
    if (authorization !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(authorization);
      if (!match) throw unauthorized("The Authorization header must be `Bearer <token>`.");
      return { token: match[1]!, from: "bearer" };
    }
    const cookie = cookieValue(req.get("cookie"), SESSION_COOKIE);
    return cookie ? { token: cookie, from: "cookie" } : undefined;
  }

  /**
   * Who is calling. No credential: anonymous (null). A credential that is unknown, revoked or expired: 401. A
   * cookie on an unsafe method from a page of another origin: 403 (cross-site request forgery); bearer clients are
   * not exposed to it and are exempt.
   */
  async authenticate(req: Request): Promise<Caller | null> {
    const credential = this.credentialOf(req);
    if (!credential) return null;
    const { token, from } = credential;
    if (from === "cookie" && !["GET", "HEAD", "OPTIONS"].includes(req.method)) {
      const origin = req.get("origin");
      const allowed = [this.deps.settings.publicUrl, ...this.deps.settings.corsOrigins];
      if (!origin || !allowed.includes(origin)) {
        throw new HttpProblem(
          403,
          problemTitle(403),
          "A request signed in by cookie must come from the platform's own pages (its Origin is not allowed).",
        );
      }
    }
    if (token.startsWith(API_KEY_PREFIX)) return this.apiKeyCaller(token);
    const now = this.now();
    const session = await this.deps.prisma.authSession.findUnique({ where: { tokenHash: sha256(token) } });
    const idleLimit = now.getTime() - this.deps.settings.sessionIdleSeconds * 1000;
    if (!session || session.revokedAt || session.expiresAt <= now || session.lastSeenAt.getTime() < idleLimit) {
      throw unauthorized("The session is unknown, signed out or expired; sign in again.");
    }
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await this.deps.prisma.authSession.updateMany({
        where: { tokenHash: session.tokenHash },
        data: { lastSeenAt: now },
      });
    }
    const address = getAddress(session.address);
    return { address, via: "session", isOperator: this.deps.settings.operators.includes(session.address) };
  }

  private async apiKeyCaller(key: string): Promise<Caller> {
    const row = await this.deps.prisma.partnerApiKey.findUnique({ where: { keyHash: sha256(key) } });
    if (!row || row.revokedAt) throw unauthorized("The API key is unknown or revoked.");
    const now = this.now();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
      await this.deps.prisma.partnerApiKey.update({ where: { id: row.id }, data: { lastUsedAt: now } });
    }
    return {
      address: getAddress(row.partner),
      via: "api-key",
      scope: { collections: row.collections, write: row.canWrite },
      isOperator: false,
    };
  }

  /** A new API key for `partner`, scoped to `collections` (lower-case, owned by the partner: the route checks). */
  async createApiKey(partner: string, input: { name: string; collections: string[]; write: boolean }) {
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
    const row = await this.deps.prisma.partnerApiKey.create({
      data: {
        id: randomUUID(),
        keyHash: sha256(key),
        partner: partner.toLowerCase(),
        name: input.name,
        collections: input.collections,
        canWrite: input.write,
        createdAt: this.now(),
      },
    });
    return { key, row };
  }

  async listApiKeys(partner: string) {
    return this.deps.prisma.partnerApiKey.findMany({
      where: { partner: partner.toLowerCase() },
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    });
  }

  /** Revokes one of `partner`'s keys; false when it has no such key. */
  async revokeApiKey(partner: string, id: string): Promise<boolean> {
    const result = await this.deps.prisma.partnerApiKey.updateMany({
      where: { id, partner: partner.toLowerCase(), revokedAt: null },
      data: { revokedAt: this.now() },
    });
    if (result.count === 1) return true;
    return (await this.deps.prisma.partnerApiKey.count({ where: { id, partner: partner.toLowerCase() } })) === 1;
  }
}
