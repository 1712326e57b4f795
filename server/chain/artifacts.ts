import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ArtifactMap } from "hardhat/types/artifacts";

const artifactsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../artifacts/contracts");

/** Contracts the server deploys or reads, by their artifact name. */
export type ContractName = "Collection" | "EditionFactory";

export class ArtifactMissingError extends Error {
  constructor(name: string, file: string) {
    super(`Compiled artifact for ${name} not found at ${file}. Run \`npm run build\` to compile the contracts.`);
    this.name = "ArtifactMissingError";
  }
}

const cache = new Map<string, unknown>();

/**
 * Reads a compiled contract artifact (ABI and bytecode) written by `hardhat build`, typed by the declarations
 * Hardhat generates next to it, so viem infers function and event types from the real ABI.
 */
export async function loadArtifact<N extends ContractName>(name: N): Promise<ArtifactMap[N]> {
  const hit = cache.get(name);
  if (hit) return hit as ArtifactMap[N];
  const file = path.join(artifactsDir, `${name}.sol`, `${name}.json`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ArtifactMissingError(name, file);
  }
  const artifact = JSON.parse(text) as ArtifactMap[N];
  cache.set(name, artifact);
  return artifact;
}
