// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["node_modules/", ".wrangler/", "dist/", "bench/results/", "**/testdata/**", "coverage/"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // dns/ is runtime-neutral (Web APIs only). Node built-ins and Buffer are fenced into the
    // *.node.ts adapters; dns-packet (which needs Buffer) is a test oracle only.
    files: ["dns/**/*.ts"],
    ignores: ["dns/**/*.test.ts", "dns/**/*.node.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: "dns/ must stay runtime-neutral: inject the Node piece instead." },
            { group: ["dns-packet"], message: "dns-packet is a test oracle only: our own codecs serve the runtime." },
          ],
        },
      ],
      "no-restricted-globals": ["error", { name: "Buffer", message: "Use Uint8Array: dns/ runs on workerd too." }],
    },
  },
  {
    // contract/ is every byte between Node and workerd, imported by both: Web APIs only, like dns/, and
    // below both runtimes' folders (it may import dns/, never workers/ or transfer-service/).
    files: ["contract/**/*.ts"],
    ignores: ["contract/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: "contract/ must stay runtime-neutral: both the Worker and the service import it." },
            { group: ["**/workers/**", "**/transfer-service/**"], message: "contract/ sits below both runtimes: move the shared piece into contract/ or dns/." },
          ],
        },
      ],
      "no-restricted-globals": ["error", { name: "Buffer", message: "Use Uint8Array and DataView: contract/ runs on workerd too." }],
    },
  },
  {
    // answer/ is the answer engine, run by both hosts: the Worker over D1, the port-53 front over memory. Web APIs
    // only, like dns/, and below both runtimes' folders (it may import dns/ and contract/). It holds its own
    // reference store (answer/store/memory-zone-store.ts) and the neighbour lookup every store derives from.
    files: ["answer/**/*.ts"],
    ignores: ["answer/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*"], message: "answer/ must stay runtime-neutral: the Worker and the front both run it." },
            { group: ["**/workers/**", "**/transfer-service/**"], message: "answer/ sits below both hosts: a store is injected through answer/zone-store.ts." },
          ],
        },
      ],
      "no-restricted-globals": ["error", { name: "Buffer", message: "Use Uint8Array: answer/ runs on workerd too." }],
    },
  },
  {
    // The two runtimes meet only through contract/ (and dns/): neither imports the other's folder.
    files: ["transfer-service/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/workers/**"], message: "The service reaches the Worker only through contract/ (the wire) and dns/." }] },
      ],
    },
  },
  {
    files: ["workers/**/*.ts", "workers/**/*.tsx"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/transfer-service/**"], message: "The Worker reaches the service only through contract/ (the wire) and dns/." }] },
      ],
    },
  },
  {
    // cli/ (the `backstop` command) is a client of /api/v1: it may import contract/ and dns/, never either runtime's code.
    files: ["cli/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/workers/**", "**/transfer-service/**", "**/test/**"], message: "cli/ talks to Backstop over /api/v1 only: share types through contract/ (or dns/)." },
          ],
        },
      ],
    },
  },
);
