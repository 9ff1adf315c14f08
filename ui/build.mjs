// Builds the web UI into hf_mltrack/server/ui/static/ (committed, so `pip install` needs no Node.js).
//   npm ci && npm run build
// The output is deterministic for a given package-lock.json; build-info.json records a hash of every
// source file so a Python test can tell when the committed assets are older than their sources.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../hf_mltrack/server/ui/static");
const watch = process.argv.includes("--watch");

/** Files whose content defines the build, in a fixed order (tests/ui/test_ui_assets.py hashes the same). */
export function sourceFiles() {
  const files = ["build.mjs", "index.html", "package-lock.json", "package.json", "tsconfig.json"];
  const walk = (dir) => {
    for (const name of fs.readdirSync(path.join(here, dir)).sort()) {
      const rel = `${dir}/${name}`;
      if (fs.statSync(path.join(here, rel)).isDirectory()) walk(rel);
      else files.push(rel);
    }
  };
  walk("src");
  return files.sort();
}

function sourcesHash() {
  const hash = createHash("sha256");
  for (const rel of sourceFiles()) {
    hash.update(rel);
    hash.update("\0");
    hash.update(fs.readFileSync(path.join(here, rel)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/**
 * uPlot makes two Intl objects when its module is evaluated: in a fresh page the first Intl object loads
 * ICU's data (tens of ms), on the way to the first chart. The charts never use them (their own tick
 * formats, no legend; the time zone only on a time axis), so the build makes them on first use instead.
 * A uPlot whose source differs fails the build here (see package-lock.json for the pinned version).
 */
const uplotLazyIntl = {
  name: "uplot-lazy-intl",
  setup(build) {
    build.onLoad({ filter: /[\\/]uplot[\\/]dist[\\/]uPlot\.esm\.js$/ }, async (args) => {
      let source = await fs.promises.readFile(args.path, "utf8");
      const swaps = [
        [
          "const numFormatter = new Intl.NumberFormat(domEnv ? nav.language : 'en-US');\nconst fmtNum = val => numFormatter.format(val);",
          "let numFormatter = null;\nconst fmtNum = val => (numFormatter ??= new Intl.NumberFormat(domEnv ? nav.language : 'en-US')).format(val);",
        ],
        [
          "const localTz = new Intl.DateTimeFormat().resolvedOptions().timeZone;",
          "let localTz = null;\nconst getLocalTz = () => (localTz ??= new Intl.DateTimeFormat().resolvedOptions().timeZone);",
        ],
        ["else if (tz == localTz)", "else if (tz == getLocalTz())"],
      ];
      for (const [from, to] of swaps) {
        if (source.split(from).length !== 2) throw new Error(`${args.path}: expected one ${JSON.stringify(from)} (uplotLazyIntl in ui/build.mjs)`);
        source = source.replace(from, to);
      }
      return { contents: source, loader: "js" };
    });
  },
};

const common = {
  bundle: true,
  minify: !watch,
  sourcemap: false,
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  legalComments: "eof",
  logLevel: "info",
  charset: "utf8",
};

fs.mkdirSync(out, { recursive: true });
// app.js and the chunks it imports on demand (uPlot, loaded when a chart first reads its data), named by
// their content's hash so a new build never mixes with a cached old chunk.
const js = {
  ...common,
  entryPoints: { app: path.join(here, "src/main.ts") },
  outdir: out,
  format: "esm",
  splitting: true,
  chunkNames: "chunk-[name]-[hash]",
  plugins: [uplotLazyIntl],
};
if (!watch) {
  for (const name of fs.readdirSync(out)) if (name.endsWith(".js")) fs.rmSync(path.join(out, name)); // old chunks
}
const css = { ...common, entryPoints: [path.join(here, "src/style.css")], outfile: path.join(out, "app.css") };

/** index.html, preloading the chunks app.js imports on demand (fetched and compiled while the app
 * starts, so the first chart only evaluates uPlot: no request on its way to the first draw). */
function writeIndex(chunks) {
  const links = chunks.map((name) => `<link rel="modulepreload" href="static/${name}" />\n    `).join("");
  const page = fs.readFileSync(path.join(here, "index.html"), "utf8");
  const app = '<script type="module" src="static/app.js"></script>';
  fs.writeFileSync(path.join(out, "index.html"), page.replace(app, links + app));
}

// The page's icon as a PNG (src/favicon.svg rendered at 32 px by Chromium): Chromium makes an SVG icon
// a whole SVG document on the page's main thread (1-15 ms in a fresh page, traced), on the way to the
// first chart; a 750-byte PNG is a plain image decode.
fs.copyFileSync(path.join(here, "src/favicon.png"), path.join(out, "favicon.png"));
if (watch) {
  writeIndex([]);
  for (const opts of [js, css]) await (await esbuild.context(opts)).watch();
} else {
  const built = await esbuild.build({ ...js, metafile: true });
  const chunks = Object.keys(built.metafile.outputs).map((file) => path.basename(file)).filter((name) => name.startsWith("chunk-") && name.endsWith(".js"));
  writeIndex(chunks.sort());
  await esbuild.build(css);
  const lock = JSON.parse(fs.readFileSync(path.join(here, "package-lock.json"), "utf8"));
  const info = {
    sources_sha256: sourcesHash(),
    esbuild: lock.packages["node_modules/esbuild"].version,
    uplot: lock.packages["node_modules/uplot"].version,
  };
  fs.writeFileSync(path.join(out, "build-info.json"), JSON.stringify(info, null, 2) + "\n");
}
