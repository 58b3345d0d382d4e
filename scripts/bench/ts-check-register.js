// The benchmark's stand-in for `ts-node` as the cdktf TypeScript template runs it (type-checking mode), built
// from the installed `typescript` only. It does what ts-node's default mode does: read the tsconfig.json found from
// the working directory, keep one LanguageService, and for each .ts file Node requires: add it to the service's
// files, emit it, and fail on its syntactic and semantic diagnostics (ts-node ignores codes 6059, 18002, 18003).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const configPath = ts.findConfigFile(process.cwd(), ts.sys.fileExists);
const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(configPath));
const options = { ...parsed.options, sourceMap: true, inlineSourceMap: false, inlineSources: true, declaration: false, noEmit: false, outDir: '$$ts-node$$' };
const IGNORED = new Set([6059, 18002, 18003]);

const rootFiles = [];
const versions = new Map();
let projectVersion = 0;
const service = ts.createLanguageService({
  getProjectVersion: () => String(projectVersion),
  getScriptFileNames: () => rootFiles,
  getScriptVersion: (file) => String(versions.get(file) ?? 0),
  getScriptSnapshot: (file) => (fs.existsSync(file) ? ts.ScriptSnapshot.fromString(fs.readFileSync(file, 'utf8')) : undefined),
  getCurrentDirectory: () => process.cwd(),
  getCompilationSettings: () => options,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
}, ts.createDocumentRegistry());

require.extensions['.ts'] = (module, filename) => {
  if (!versions.has(filename)) {
    rootFiles.push(filename);
    versions.set(filename, 1);
    projectVersion++;
  }
  const output = service.getEmitOutput(filename);
  const diagnostics = [...service.getSyntacticDiagnostics(filename), ...service.getSemanticDiagnostics(filename)]
    .filter((d) => !IGNORED.has(d.code));
  if (diagnostics.length > 0) {
    throw new Error(`TypeScript: ${ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' })}`);
  }
  const js = output.outputFiles.find((f) => f.name.endsWith('.js'));
  if (!js) throw new Error(`TypeScript emitted nothing for ${filename}`);
  module._compile(js.text, filename);
};
