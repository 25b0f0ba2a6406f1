#!/usr/bin/env node
// Token ids from @huggingface/transformers (the JavaScript port of Hugging Face's
// tokenizers), run offline on a local tokenizer.json: the reference the tokenizers of
// segmenta are tested against (tests/golden/embed_tokenizer_js_test.cpp).
//
//   node tools/ref_tokenize.mjs MODEL_DIR TEXTS.json OUT.json
//
// TEXTS.json is {"texts": [...]}; OUT.json gets {"ids": [[...], ...]}, each the full
// sequence with the post-processor's special tokens, no truncation. Needs the npm
// packages of package.json (scripts/setup installs them into node_modules/).
import fs from 'node:fs';
import path from 'node:path';
import { env, AutoTokenizer } from '@huggingface/transformers';

const [dir, textsPath, outPath] = process.argv.slice(2);
if (!dir || !textsPath || !outPath) {
  console.error('usage: node tools/ref_tokenize.mjs MODEL_DIR TEXTS.json OUT.json');
  process.exit(2);
}
env.allowRemoteModels = false;
env.allowLocalModels = true;
const abs = path.resolve(dir);
env.localModelPath = path.dirname(abs) + path.sep;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(abs));
const { texts } = JSON.parse(fs.readFileSync(textsPath, 'utf8'));
const ids = texts.map((t) => Array.from(tokenizer.encode(t)).map(Number));
fs.writeFileSync(outPath, JSON.stringify({ ids }));
console.error(`ref_tokenize: ${texts.length} texts with ${path.basename(abs)}`);
