// A `solc` command for crytic-compile's --solc-standard-json mode, run by Node:
// answers `--version` and `--standard-json` (input on stdin, output on stdout)
// with solc-js, the Solidity compiler compiled to JavaScript (the npm `solc`
// package, so no compiler download). Imports are read from disk, only from
// the working directory and the --base-path / --allow-paths directories.
"use strict";
const fs = require("fs");
const path = require("path");

const solcDir = process.env.NEBSIGN_SOLCJS_DIR;
if (!solcDir) {
  process.stderr.write("solc wrapper: NEBSIGN_SOLCJS_DIR is not set\n");
  process.exit(3);
}
const solc = require(path.join(solcDir, "node_modules", "solc"));
const args = process.argv.slice(2);

if (args.includes("--version")) {
  process.stdout.write(
    "solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n"
  );
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc wrapper: only --version and --standard-json are supported\n");
  process.exit(2);
}

const allowed = [process.cwd()];
for (let i = 0; i < args.length; i++) {
  if ((args[i] === "--allow-paths" || args[i] === "--base-path") && i + 1 < args.length) {
    for (const p of args[i + 1].split(",")) if (p) allowed.push(path.resolve(p));
  }
}
const MAX_SOURCE = 8 * 1024 * 1024;

function findImports(name) {
  const full = path.resolve(process.cwd(), name);
  const real = fs.existsSync(full) ? fs.realpathSync(full) : full;
  const inside = allowed.some((dir) => real === dir || real.startsWith(dir + path.sep));
  if (!inside) return { error: "File outside allowed directories: " + name };
  try {
    if (fs.statSync(real).size > MAX_SOURCE) return { error: "File too large: " + name };
    return { contents: fs.readFileSync(real, "utf8") };
  } catch (err) {
    return { error: "File not found: " + name };
  }
}

const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const input = Buffer.concat(chunks).toString("utf8");
  process.stdout.write(solc.compile(input, { import: findImports }));
});
