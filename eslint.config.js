// ESLint for the TypeScript of server/, scripts/, test/ and the configs: typescript-eslint's rules that use type
// information, with the formatting rules left to Prettier (eslint-config-prettier).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "coverage/",
      "types/",
      "server/generated/",
      ".perkmint/",
      "web/dist/",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js", "prettier.config.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `_name` marks a value left unused on purpose (a destructured field dropped, a callback's unused argument).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
    },
  },
  {
    // Tests read JSON answers and log lines (typed `any` by fetch and JSON.parse) whose shape the assertions themselves
    // check, field by field; typing each would restate the route's schema in every test. Server and scripts keep
    // these rules: there, an untyped value must be validated before use.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // The reference page's browser script (server/http/docs-assets): browser globals, no type information.
    files: ["server/http/docs-assets/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { window: "readonly", SwaggerUIBundle: "readonly" },
    },
  },
  prettier,
);
