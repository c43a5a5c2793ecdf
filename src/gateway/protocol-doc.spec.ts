import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GATEWAY_OPTIONS, MESSAGE_METADATA, PARAM_ARGS_METADATA } from '@nestjs/websockets/constants';
import { WsParamtype } from '@nestjs/websockets/enums/ws-paramtype.enum';
import { getMetadataStorage, MetadataStorage, ValidationTypes } from 'class-validator';
import ts from 'typescript';
import { AdminGateway } from '../admin/admin.gateway';
import { ERRORS } from '../common/errors/error-codes';
import { ChatGateway } from './chat.gateway';

// docs/protocol.md checked against the code: client events and their payload classes through Nest's and
// class-validator's metadata; acks, server events and the types they carry through the TypeScript checker.

type Gateway = abstract new (...args: never[]) => unknown;
type Rule = ReturnType<MetadataStorage['getTargetValidationMetadatas']>[number];
interface FieldRow {
  field: string;
  type: string | undefined;
  required: string;
  bounds: string[];
}

const root = path.resolve(__dirname, '..', '..');
const GATEWAYS: { gateway: Gateway; file: string }[] = [
  { gateway: ChatGateway, file: 'src/gateway/chat.gateway.ts' },
  { gateway: AdminGateway, file: 'src/admin/admin.gateway.ts' },
];

/** The document as chapter (`## …`) → entry (`### \`…\``, '' for the chapter's own text) → lines. */
function parseDoc(text: string): Map<string, Map<string, string[]>> {
  const chapters = new Map<string, Map<string, string[]>>();
  let entries = new Map<string, string[]>();
  let lines: string[] = [];
  for (const line of text.split('\n')) {
    const chapter = /^## (.+)$/.exec(line)?.[1];
    const entry = /^### `([^`]+)`$/.exec(line)?.[1];
    if (chapter !== undefined) chapters.set(chapter, (entries = new Map([['', (lines = [])]])));
    else if (entry !== undefined) entries.set(entry, (lines = []));
    else lines.push(line);
  }
  return chapters;
}

/** The rows of an entry's one table (header and rule skipped); `\|` stays inside its cell. */
function tableRows(lines: string[]): string[][] {
  return lines
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

const unquote = (cell: string) => /^`([^`]+)`$/.exec(cell)?.[1] ?? cell;
const yes = (cell: string) => ({ yes: true, no: false })[cell];

/** A table's fields, sorted, `?` marking those its third column (Required / Always) says may be absent. */
const tableFields = (lines: string[]) =>
  tableRows(lines)
    .map(([field, , always]) => `${unquote(field)}${yes(always) ? '' : '?'}`)
    .sort();
const bare = (field: string) => field.replace(/\?$/, '');

const doc = parseDoc(readFileSync(path.join(root, 'docs', 'protocol.md'), 'utf8'));
const chapter = (title: string) => {
  const entries = doc.get(title);
  if (!entries) throw new Error(`docs/protocol.md has no chapter "## ${title}"`);
  return entries;
};
const entryNames = (entries: Map<string, string[]>) => [...entries.keys()].filter(Boolean).sort();
const docTypes = chapter('Types');

/**
 * The fields a `**Ack:**` or `**Payload:**` line names: backticked terms joined by `+`, each a type of
 * the Types chapter (its fields), `{}` (none) or a field; prose may follow after ` — `.
 */
function shapeFields(lines: string[], label: 'Ack' | 'Payload'): string[] | undefined {
  const line = lines.find((l) => l.startsWith(`**${label}:**`));
  if (line === undefined) return undefined;
  const terms = [...line.split(' — ')[0].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  return terms
    .flatMap((term) => {
      if (term === '{}') return [];
      const type = docTypes.get(term);
      return type ? tableFields(type).map(bare) : [term];
    })
    .sort();
}

/** Each `@SubscribeMessage` handler of a gateway, with the class of its `@MessageBody()` parameter. */
function handlers(gateway: Gateway): { event: string; method: string; payload: new () => object }[] {
  const prototype = gateway.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype).flatMap((method) => {
    const handler = prototype[method];
    const event =
      typeof handler === 'function' ? (Reflect.getMetadata(MESSAGE_METADATA, handler) as unknown) : undefined;
    if (typeof event !== 'string') return [];
    const params = Reflect.getMetadata(PARAM_ARGS_METADATA, gateway, method) as Record<string, { index: number }>;
    const body = Object.entries(params).find(([key]) => key.startsWith(`${WsParamtype.PAYLOAD}:`));
    const types = Reflect.getMetadata('design:paramtypes', prototype, method) as (new () => object)[];
    return [{ event, method, payload: types[body![1].index] }];
  });
}

const namespaceOf = (gateway: Gateway) =>
  (Reflect.getMetadata(GATEWAY_OPTIONS, gateway) as { namespace: string }).namespace;

/** Validated properties of a payload class, with their rules: what PayloadValidationPipe accepts. */
function validated(payload: new () => object): Map<string, Rule[]> {
  const fields = new Map<string, Rule[]>();
  for (const rule of getMetadataStorage().getTargetValidationMetadatas(payload, '', true, false)) {
    fields.set(rule.propertyName, [...(fields.get(rule.propertyName) ?? []), rule]);
  }
  return fields;
}

// The document's word for a field's type, from its class-validator rules.
const SCALARS: [string, string][] = [
  ['isUuid', 'uuid'],
  ['isInt', 'integer'],
  ['isBoolean', 'boolean'],
  ['isString', 'string'],
];
function typeOf(rules: Rule[]): string | undefined {
  const scalar = (each: boolean) =>
    SCALARS.find(([rule]) => rules.some((r) => r.name === rule && !!r.each === each))?.[1];
  return rules.some((r) => r.name === 'isArray') ? `${scalar(true)}[]` : scalar(false);
}

/** Every bound a rule carries (lengths, sizes, minimums, maximums, patterns), as the document must show it. */
const bounds = (rules: Rule[]): string[] =>
  rules.flatMap((rule) =>
    ((rule.constraints ?? []) as unknown[]).flatMap((c) =>
      c instanceof RegExp ? [c.source] : typeof c === 'number' ? [String(c)] : [],
    ),
  );

/** A number stands alone in the cell (64 is not found in 640); a pattern appears verbatim. */
const shows = (cell: string, bound: string) =>
  /^\d+$/.test(bound) ? new RegExp(`(?<!\\d)${bound}(?!\\d)`).test(cell) : cell.includes(bound);

const tsconfig = ts.readConfigFile(path.join(root, 'tsconfig.json'), (file) => ts.sys.readFile(file)).config as object;
const { options } = ts.parseJsonConfigFileContent(tsconfig, ts.sys, root);
const program = ts.createProgram(
  GATEWAYS.map(({ file }) => path.join(root, file)),
  options,
);
const checker = program.getTypeChecker();

function classType(file: string, name: string): ts.Type {
  const module = checker.getSymbolAtLocation(program.getSourceFile(path.join(root, file))!)!;
  return checker.getDeclaredTypeOfSymbol(checker.getExportsOfModule(module).find((s) => s.name === name)!);
}

const signatureOf = (type: ts.Type, member: string) =>
  checker.getTypeOfSymbol(type.getProperty(member)!).getCallSignatures()[0];
const firstParameter = (signature: ts.Signature) => checker.getTypeOfSymbol(signature.getParameters()[0]);
/** A type's fields as a table lists them: sorted, `?` marking the optional ones. */
const fieldsOf = (type: ts.Type) =>
  checker
    .getPropertiesOfType(type)
    .map((p) => `${p.name}${p.flags & ts.SymbolFlags.Optional ? '?' : ''}`)
    .sort();
const ackType = (gateway: ts.Type, method: string) =>
  checker.getAwaitedType(checker.getReturnTypeOfSignature(signatureOf(gateway, method)))!;
/** A gateway's server → client event map: the second type argument of its connected sockets' type. */
const eventMap = (gateway: ts.Type) =>
  checker.getTypeArguments(firstParameter(signatureOf(gateway, 'handleConnection')) as ts.TypeReference)[1];

const payloadOf = (events: ts.Type, event: string) => firstParameter(signatureOf(events, event));

/** The interfaces declared in src/ that a type carries, at any depth. */
function interfacesIn(type: ts.Type, found: Map<string, ts.Type>): void {
  if (type.isUnionOrIntersection()) return type.types.forEach((t) => interfacesIn(t, found));
  if (checker.isArrayType(type)) return interfacesIn(checker.getTypeArguments(type as ts.TypeReference)[0], found);
  const symbol = type.getSymbol();
  const file = symbol?.declarations?.[0]?.getSourceFile().fileName ?? '';
  if (!symbol || !(type.flags & ts.TypeFlags.Object) || !file.startsWith(path.join(root, 'src'))) return;
  if (symbol.flags & ts.SymbolFlags.Interface) {
    if (found.has(symbol.name)) return;
    found.set(symbol.name, type);
  }
  for (const property of checker.getPropertiesOfType(type)) interfacesIn(checker.getTypeOfSymbol(property), found);
}

const sorted = (names: Iterable<string>) => [...names].sort();

describe('docs/protocol.md', () => {
  const gateways = GATEWAYS.map(({ gateway, file }) => ({
    namespace: namespaceOf(gateway),
    handlers: handlers(gateway),
    type: classType(file, gateway.name),
  }));
  const serverEvents = chapter('Server → client');
  const namespacesOf = (lines: string[]) =>
    [...(lines.find((l) => l.startsWith('**Namespaces:**')) ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);

  it.each(gateways)('lists exactly the client events of $namespace', ({ namespace, handlers }) => {
    expect(handlers.length).toBeGreaterThan(0);
    expect(entryNames(chapter(`Client → server on \`${namespace}\``))).toEqual(sorted(handlers.map((h) => h.event)));
  });

  it.each(gateways)('documents the payload fields of $namespace: type, presence, limits', ({ namespace, handlers }) => {
    const entries = chapter(`Client → server on \`${namespace}\``);
    const byField = (a: FieldRow, b: FieldRow) => a.field.localeCompare(b.field);
    const documented: Record<string, FieldRow[]> = {};
    const code: Record<string, FieldRow[]> = {};
    for (const { event, payload } of handlers) {
      const rules = validated(payload);
      code[event] = [...rules]
        .map(([field, fieldRules]) => ({
          field,
          type: typeOf(fieldRules),
          required: fieldRules.some((r) => r.type === ValidationTypes.CONDITIONAL_VALIDATION) ? 'no' : 'yes',
          bounds: bounds(fieldRules),
        }))
        .sort(byField);
      documented[event] = tableRows(entries.get(event) ?? [])
        .map(([cell, type, required, limits]) => {
          const field = unquote(cell);
          const shown = bounds(rules.get(field) ?? []).filter((b) => shows(limits, b));
          return { field, type: unquote(type), required, bounds: shown };
        })
        .sort(byField);
    }
    expect(documented).toEqual(code);
  });

  it.each(gateways)('gives every client event of $namespace the fields of its ack', ({ namespace, handlers, type }) => {
    const entries = chapter(`Client → server on \`${namespace}\``);
    const documented = handlers.map(({ event }) => [event, shapeFields(entries.get(event) ?? [], 'Ack')]);
    const code = handlers.map(({ event, method }) => [event, fieldsOf(ackType(type, method)).map(bare)]);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(code));
  });

  it.each(gateways)('lists exactly the server events of $namespace, each with its payload', ({ namespace, type }) => {
    const events = eventMap(type);
    const documented = entryNames(serverEvents).filter((e) => namespacesOf(serverEvents.get(e)!).includes(namespace));
    expect(documented).toEqual(fieldsOf(events));
    // An open record (`session:state`, `message:new`) declares no fields to check against.
    const typed = documented.filter((event) => checker.getIndexInfosOfType(payloadOf(events, event)).length === 0);
    // A table shows each field's presence; a `**Payload:**` line only names fields.
    const shapes = typed.map((event) => {
      const lines = serverEvents.get(event)!;
      const table = tableFields(lines);
      const declared = fieldsOf(payloadOf(events, event));
      return table.length > 0
        ? { event, documented: table, code: declared }
        : { event, documented: shapeFields(lines, 'Payload'), code: declared.map(bare) };
    });
    expect(Object.fromEntries(shapes.map((s) => [s.event, s.documented]))).toEqual(
      Object.fromEntries(shapes.map((s) => [s.event, s.code])),
    );
  });

  it('documents every interface the events and acks carry, field by field', () => {
    const carried = new Map<string, ts.Type>();
    for (const { handlers, type } of gateways) {
      for (const { method } of handlers) interfacesIn(ackType(type, method), carried);
      const events = eventMap(type);
      for (const event of checker.getPropertiesOfType(events)) interfacesIn(payloadOf(events, event.name), carried);
    }
    expect(entryNames(docTypes)).toEqual(sorted(carried.keys()));
    const documented = Object.fromEntries(entryNames(docTypes).map((name) => [name, tableFields(docTypes.get(name)!)]));
    expect(documented).toEqual(Object.fromEntries([...carried].map(([name, type]) => [name, fieldsOf(type)])));
  });

  it('emits no event by name through socket.io that is not documented', () => {
    const emitted = new Set<string>();
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'emit' &&
        node.arguments[0] &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        const receiver = checker.getNonNullableType(checker.getTypeAtLocation(node.expression.expression)).getSymbol();
        const file = receiver?.declarations?.[0]?.getSourceFile().fileName ?? '';
        if (file.includes(`${path.sep}node_modules${path.sep}socket.io${path.sep}`))
          emitted.add(node.arguments[0].text);
      }
      ts.forEachChild(node, visit);
    };
    for (const source of program.getSourceFiles()) {
      if (source.fileName.startsWith(path.join(root, 'src'))) visit(source);
    }
    expect(emitted.size).toBeGreaterThan(0);
    expect(sorted(emitted).filter((event) => !serverEvents.has(event))).toEqual([]);
  });

  it('lists exactly the error codes, with their HTTP status and recoverability', () => {
    const rows = tableRows(chapter('Error codes').get('')!).map(([code, status, recoverable]) => ({
      code: unquote(code),
      status: Number(status),
      recoverable: yes(recoverable),
    }));
    const codes = Object.entries(ERRORS).map(([code, { status, recoverable }]) => ({ code, status, recoverable }));
    expect(rows.sort((a, b) => a.code.localeCompare(b.code))).toEqual(
      codes.sort((a, b) => a.code.localeCompare(b.code)),
    );
  });
});
