// `npm run db:migrate`: applies prisma/migrations to DATABASE_URL, or to the embedded PostgreSQL under
// PERKMINT_DATA_DIR (default .perkmint) when DATABASE_URL is not set. Works offline.
import path from "node:path";
import { z } from "zod";
import { startEmbeddedPostgres } from "../server/database/embedded-postgres.ts";
import { migrateDatabase } from "../server/database/migrate.ts";

const env = z
  .object({
    DATABASE_URL: z.string().url().optional(),
    PERKMINT_DATA_DIR: z.string().min(1).default(".perkmint"),
  })
  .parse(process.env);

async function main() {
  if (env.DATABASE_URL) {
    const applied = await migrateDatabase(env.DATABASE_URL);
    console.log(applied.length ? `Applied ${applied.join(", ")}` : "Database is up to date.");
    return;
  }
  const server = await startEmbeddedPostgres({ dataDir: path.join(env.PERKMINT_DATA_DIR, "postgres") });
  try {
    await server.ensureDatabase("perkmint");
    const applied = await migrateDatabase(server.urlFor("perkmint"));
    console.log(
      (applied.length ? `Applied ${applied.join(", ")}` : "Database is up to date.") +
        ` (embedded PostgreSQL in ${path.join(env.PERKMINT_DATA_DIR, "postgres")})`,
    );
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
