import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const require = createRequire(import.meta.url);
const SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../prisma/schema.prisma");

type DmmfField = {
  name: string;
  dbName?: string | null;
  kind: string;
  type: string;
  isRequired: boolean;
  isList: boolean;
  nativeType: [string, string[]] | null;
};
type DmmfModel = { name: string; dbName: string | null; fields: DmmfField[] };
type DmmfIndex = { model: string; type: "id" | "unique" | "normal" | "fulltext"; fields: { name: string }[] };
type Dmmf = { datamodel: { models: DmmfModel[]; indexes: DmmfIndex[] } };

/** The DMMF (Prisma's own description of schema.prisma), from Prisma's schema WASM: the same parser the CLI uses. */
export async function readDatamodel(file = SCHEMA_FILE): Promise<Dmmf["datamodel"]> {
  const wasm = require("@prisma/prisma-schema-wasm") as { get_dmmf(params: string): string };
  const schema = await readFile(file, "utf8");
  return (JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: [["schema.prisma", schema]] }))) as Dmmf).datamodel;
}

/** The PostgreSQL type a Prisma scalar maps to (format_type spelling), honouring @db native types. */
function expectedType(field: DmmfField): string {
  const [native, args] = field.nativeType ?? [undefined, []];
  const base = (() => {
    switch (native) {
      case "Decimal":
        return `numeric(${args.join(",")})`;
      case "Timestamptz":
        return `timestamp(${args[0] ?? 6}) with time zone`;
      case "Timestamp":
        return `timestamp(${args[0] ?? 6}) without time zone`;
      case "VarChar":
        return `character varying(${args[0]})`;
      case "Char":
        return `character(${args[0]})`;
      case "SmallInt":
        return "smallint";
      case "Uuid":
        return "uuid";
      case "Text":
        return "text";
      case undefined:
        break;
      default:
        return native.toLowerCase();
    }
    switch (field.type) {
      case "String":
        return "text";
      case "Int":
        return "integer";
      case "BigInt":
        return "bigint";
      case "Boolean":
        return "boolean";
      case "DateTime":
        return "timestamp(3) without time zone";
      case "Decimal":
        return "numeric(65,30)";
      case "Float":
        return "double precision";
      case "Json":
        return "jsonb";
      case "Bytes":
        return "bytea";
      default:
        return `"${field.type}"`; // enums are quoted type names
    }
  })();
  return field.isList ? `${base}[]` : base;
}

/**
 * Compares the tables a database has (after migrations) with the models in schema.prisma: tables, columns, types,
 * nullability, primary keys and indexes. Returns one line per difference; empty when they agree.
 */
export async function describeSchemaDrift(databaseUrl: string): Promise<string[]> {
  const datamodel = await readDatamodel();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const columns = await client.query<{ table_name: string; column_name: string; type: string; not_null: boolean }>(
      `SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
         AND c.relname <> '_prisma_migrations'`,
    );
    const indexes = await client.query<{
      table_name: string;
      columns: string[];
      is_unique: boolean;
      is_primary: boolean;
    }>(
      `SELECT t.relname AS table_name, i.indisunique AS is_unique, i.indisprimary AS is_primary,
              array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = current_schema() AND t.relname <> '_prisma_migrations'`,
    );
    const problems: string[] = [];
    const dbTables = new Map<string, Map<string, { type: string; notNull: boolean }>>();
    for (const c of columns.rows) {
      if (!dbTables.has(c.table_name)) dbTables.set(c.table_name, new Map());
      dbTables.get(c.table_name)!.set(c.column_name, { type: c.type, notNull: c.not_null });
    }
    const modelTables = new Set<string>();
    for (const model of datamodel.models) {
      const table = model.dbName ?? model.name;
      modelTables.add(table);
      const dbColumns = dbTables.get(table);
      if (!dbColumns) {
        problems.push(`model ${model.name}: table "${table}" does not exist in the migrated database`);
        continue;
      }
      const fieldColumns = new Map<string, string>();
      for (const field of model.fields.filter((f) => f.kind === "scalar" || f.kind === "enum")) {
        const column = field.dbName ?? field.name;
        fieldColumns.set(field.name, column);
        const actual = dbColumns.get(column);
        if (!actual) {
          problems.push(`${model.name}.${field.name}: column "${table}"."${column}" is missing`);
          continue;
        }
        const expected = expectedType(field);
        if (actual.type !== expected)
          problems.push(`${model.name}.${field.name}: type is ${actual.type}, schema says ${expected}`);
        if (actual.notNull !== field.isRequired) {
          problems.push(
            `${model.name}.${field.name}: column is ${actual.notNull ? "NOT NULL" : "nullable"}, schema says ${field.isRequired ? "required" : "optional"}`,
          );
        }
      }
      for (const column of dbColumns.keys()) {
        if (![...fieldColumns.values()].includes(column))
          problems.push(`${model.name}: column "${table}"."${column}" is not in schema.prisma`);
      }
      const key = (cols: string[]) => cols.join(",");
      const dbIndexes = indexes.rows.filter((i) => i.table_name === table);
      for (const index of datamodel.indexes.filter((i) => i.model === model.name)) {
        const cols = index.fields.map((f) => fieldColumns.get(f.name) ?? f.name);
        const match = dbIndexes.find(
          (i) =>
            key(i.columns) === key(cols) &&
            (index.type === "id"
              ? i.is_primary
              : index.type === "unique"
                ? i.is_unique && !i.is_primary
                : !i.is_unique),
        );
        if (!match)
          problems.push(`${model.name}: ${index.type} index on (${cols.join(", ")}) is missing in the database`);
      }
      for (const i of dbIndexes) {
        const declared = datamodel.indexes.some(
          (index) =>
            index.model === model.name &&
            key(index.fields.map((f) => fieldColumns.get(f.name) ?? f.name)) === key(i.columns),
        );
        if (!declared)
          problems.push(`${model.name}: database index on (${i.columns.join(", ")}) is not declared in schema.prisma`);
      }
    }
    for (const table of dbTables.keys()) {
      if (!modelTables.has(table))
        problems.push(`table "${table}" exists in the database but has no model in schema.prisma`);
    }
    return problems;
  } finally {
    await client.end();
  }
}
