import path from "node:path";
import { defineConfig } from "prisma/config";

// Prisma 7's CLI downloads a native schema engine before every command, which fails offline. `prisma generate`
// never runs that engine, so pointing the variable at any existing file lets generation work offline.
// Migrations do not go through this CLI: `npm run db:migrate` applies prisma/migrations with our own runner.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.resolve("package.json");

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
