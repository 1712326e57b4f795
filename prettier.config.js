// Prettier: the formatting of every TypeScript, JSON, Markdown and Solidity file (`npm run format` writes it,
// `npm run lint` checks it). Widths follow .editorconfig.
export default {
  printWidth: 120,
  plugins: ["prettier-plugin-solidity"],
  overrides: [{ files: "*.sol", options: { printWidth: 120, tabWidth: 4 } }],
};
