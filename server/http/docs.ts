import path from "node:path";
import express, { type RequestHandler } from "express";
import { getAbsoluteFSPath } from "swagger-ui-dist";
import { z } from "zod";
import { defineRoute, type RouteDeclaration } from "./route.ts";

/**
 * The API's own description and a browsable reference of it: GET /openapi.json (built from the route declarations)
 * and GET /docs (Swagger UI from the npm package swagger-ui-dist, served from this server: no CDN, no outside
 * request, no inline script).
 */

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Perkmint API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<main id="reference"><noscript>The reference needs JavaScript; the raw description is at <a href="/openapi.json">/openapi.json</a>.</noscript></main>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

export const openApiDocumentSchema = z.looseObject({
  openapi: z.literal("3.1.0"),
  info: z.looseObject({}),
  paths: z.looseObject({}),
});

export function docsRoutes(document: () => unknown): RouteDeclaration[] {
  return [
    defineRoute({
      method: "get",
      path: "/openapi.json",
      summary: "This API's OpenAPI 3.1 description, generated from its route declarations",
      tags: ["platform"],
      role: "public",
      responses: { 200: { description: "The OpenAPI document", schema: openApiDocumentSchema } },
      handler: () => ({ body: document() }),
    }),
    defineRoute({
      method: "get",
      path: "/docs",
      summary: "A browsable reference of this API",
      tags: ["platform"],
      role: "public",
      responses: { 200: { description: "An HTML page (Swagger UI)", schema: z.string(), contentType: "text/html" } },
      handler({ res }) {
        res.type("html").send(PAGE);
      },
    }),
  ];
}

/** The reference page's scripts and styles: swagger-ui-dist's files and our init script, cached for a day. */
export function docsAssets(): RequestHandler[] {
  const options = { index: false, maxAge: "1d", fallthrough: true } as const;
  return [
    express.static(path.join(import.meta.dirname, "docs-assets"), options),
    express.static(getAbsoluteFSPath(), options),
  ];
}
