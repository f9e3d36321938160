import fc from "fast-check";

/** The parts of an OpenAPI 3.1 (JSON Schema 2020-12) schema the generators read. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  format?: string;
}

/** One operation of an OpenAPI document, flattened for request generation. */
export interface ApiOperation {
  method: string;
  /** OpenAPI path template, e.g. `/v1/accounts/{id}`. */
  path: string;
  operationId: string;
  /** Roles from the description ("Roles: a, b."); empty for public operations. */
  roles: string[];
  public: boolean;
  pathParams: { name: string; schema: JsonSchema }[];
  queryParams: { name: string; schema: JsonSchema; required: boolean }[];
  /** Request body content types and their schemas; empty when the operation takes no body. */
  body: { contentType: string; schema: JsonSchema }[];
  /** Content types each documented status answers with. */
  responseTypes: Record<string, string[]>;
}

export function operationsOf(doc: any): ApiOperation[] {
  const ops: ApiOperation[] = [];
  for (const [p, item] of Object.entries<any>(doc.paths))
    for (const [method, op] of Object.entries<any>(item)) {
      const params: any[] = op.parameters ?? [];
      ops.push({
        method: method.toUpperCase(),
        path: p,
        operationId: op.operationId,
        roles: /^Roles: ([a-z, ]+)\./.exec(op.description ?? "")?.[1].split(", ") ?? [],
        public: (op.security ?? []).length === 0,
        pathParams: params.filter((x) => x.in === "path").map((x) => ({ name: x.name, schema: x.schema })),
        queryParams: params
          .filter((x) => x.in === "query")
          .map((x) => ({ name: x.name, schema: x.schema, required: Boolean(x.required) })),
        body: Object.entries<any>(op.requestBody?.content ?? {}).map(([contentType, c]) => ({
          contentType,
          schema: c.schema,
        })),
        responseTypes: Object.fromEntries(
          Object.entries<any>(op.responses ?? {}).map(([status, r]) => [
            status,
            Object.keys(r.content ?? {}),
          ]),
        ),
      });
    }
  return ops;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Arbitraries of values that conform to JSON Schemas of one document (refs resolved against its
 * components). `strings` adds known values (existing ids) to every string, so generated requests
 * reach past "not found".
 */
export class SchemaArbitraries {
  constructor(
    private readonly doc: any,
    private readonly strings: readonly string[] = [],
  ) {}

  resolve(s: JsonSchema): JsonSchema {
    let out = s;
    while (out.$ref) out = this.doc.components.schemas[out.$ref.replace("#/components/schemas/", "")];
    return out;
  }

  /** JSON types a schema admits (all of them when it does not say). */
  typesOf(schema: JsonSchema): string[] {
    const s = this.resolve(schema);
    if (s.const !== undefined) return [jsonTypeOf(s.const)];
    if (s.enum) return [...new Set(s.enum.map(jsonTypeOf))];
    const alts = s.anyOf ?? s.oneOf;
    if (alts) return [...new Set(alts.flatMap((a) => this.typesOf(a)))];
    if (s.allOf) return this.typesOf(s.allOf[0]);
    if (s.type)
      return (Array.isArray(s.type) ? s.type : [s.type]).map((t) => (t === "integer" ? "number" : t));
    if (s.properties) return ["object"];
    return ["string", "number", "boolean", "null", "object", "array"];
  }

  valid(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    if (s.const !== undefined) return fc.constant(s.const);
    if (s.enum) return fc.constantFrom(...s.enum);
    const alts = s.anyOf ?? s.oneOf;
    if (alts) return fc.oneof(...alts.map((a) => this.valid(a, depth)));
    if (s.allOf) return this.valid(s.allOf[0], depth);
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ["object"] : [];
    if (types.length > 1) return fc.oneof(...types.map((t) => this.valid({ ...s, type: t }, depth)));
    switch (types[0]) {
      case "string":
        return this.string(s);
      case "integer":
      case "number": {
        const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -MAX_SAFE);
        const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : MAX_SAFE);
        return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
      }
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "array":
        return fc.array(s.items ? this.valid(s.items, depth + 1) : fc.jsonValue({ maxDepth: 1 }), {
          minLength: s.minItems ?? 0,
          maxLength: Math.min(s.maxItems ?? 4, Math.max(s.minItems ?? 0, 4)),
        });
      case "object": {
        const props = s.properties ?? {};
        const required = s.required ?? [];
        const record = fc.record(
          Object.fromEntries(Object.entries(props).map(([k, v]) => [k, this.valid(v, depth + 1)])),
          { requiredKeys: required.filter((k) => k in props) as never[] },
        );
        if (s.properties || s.additionalProperties === false) return record;
        return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 });
      }
      default:
        return depth > 2 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
    }
  }

  private string(s: JsonSchema): fc.Arbitrary<string> {
    const min = s.minLength ?? 0;
    const max = s.maxLength ?? 64;
    let base: fc.Arbitrary<string>;
    if (s.pattern) {
      base = fc.stringMatching(new RegExp(s.pattern));
      if (s.minLength !== undefined || s.maxLength !== undefined)
        base = base.filter((x) => x.length >= min && x.length <= max);
    } else base = fc.string({ minLength: min, maxLength: Math.min(max, 64) });
    const fits = this.strings.filter(
      (x) => x.length >= min && x.length <= max && (!s.pattern || new RegExp(s.pattern).test(x)),
    );
    return fits.length ? fc.oneof(base, fc.constantFrom(...fits)) : base;
  }

  /** A JSON value of a type the schema does not admit. */
  wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
    const admitted = this.typesOf(schema);
    const others: fc.Arbitrary<unknown>[] = [];
    if (!admitted.includes("string")) others.push(fc.string({ maxLength: 20 }));
    if (!admitted.includes("number")) others.push(fc.oneof(fc.integer(), fc.double({ noNaN: true })));
    if (!admitted.includes("boolean")) others.push(fc.boolean());
    if (!admitted.includes("null")) others.push(fc.constant(null));
    if (!admitted.includes("array")) others.push(fc.array(fc.integer(), { maxLength: 3 }));
    if (!admitted.includes("object")) others.push(fc.dictionary(fc.string({ maxLength: 5 }), fc.integer()));
    return others.length ? fc.oneof(...others) : fc.constant(undefined);
  }

  /** Values that break the schema's bounds (lengths, patterns, ranges), or nothing when it has none. */
  outOfRange(schema: JsonSchema): fc.Arbitrary<unknown> | undefined {
    const s = this.resolve(schema);
    const arbs: fc.Arbitrary<unknown>[] = [];
    if (s.maxLength !== undefined) arbs.push(fc.constant("a".repeat(s.maxLength + 1)));
    if (s.minLength !== undefined && s.minLength > 0) arbs.push(fc.constant(""));
    if (s.pattern) arbs.push(fc.string({ maxLength: 30 }).filter((x) => !new RegExp(s.pattern!).test(x)));
    if (s.enum) arbs.push(fc.string({ maxLength: 12 }).filter((x) => !s.enum!.includes(x)));
    if (s.maximum !== undefined) arbs.push(fc.constantFrom(s.maximum + 1, 1e308, s.maximum + 0.5));
    if (s.minimum !== undefined) arbs.push(fc.constantFrom(s.minimum - 1, -1e308, s.minimum - 0.5));
    if (s.type === "integer") arbs.push(fc.constantFrom(0.5, 1.25));
    if (s.maxItems !== undefined) arbs.push(fc.constant(Array.from({ length: s.maxItems + 1 }, () => ({}))));
    return arbs.length ? fc.oneof(...arbs) : undefined;
  }
}

function jsonTypeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}
