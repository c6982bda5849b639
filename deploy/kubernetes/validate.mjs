// Checks every manifest in this folder against the Kubernetes API's schemas, both generated from
// the API's OpenAPI definitions: kubernetes-models checks types, formats and required fields, and
// the models of the official JavaScript client name every field each type has, so a field the API
// does not know (a misspelt probe, say) is an error too, as the API server's strict field
// validation would make it. Run: npm install && npm run validate
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import yaml from "js-yaml";
// The generated models only: the client itself needs a newer Node.js than 20.
import * as client from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";

/** The fields of `value` its type does not have, as paths. */
function unknownFields(value, type, path) {
  if (value == null) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return value.flatMap((item, i) => unknownFields(item, array[1], `${path}/${i}`));
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return Object.entries(value).flatMap(([key, item]) => unknownFields(item, map[1], `${path}/${key}`));
  const fields = client[type]?.attributeTypeMap;
  if (!fields || typeof value !== "object") return [];
  const known = new Map(fields.map((field) => [field.baseName, field.type]));
  return Object.entries(value).flatMap(([key, item]) =>
    known.has(key) ? unknownFields(item, known.get(key), `${path}/${key}`) : [`${path}/${key} is not a field of ${type}`]);
}

const folder = dirname(fileURLToPath(import.meta.url));
const failures = [];
let checked = 0;

for (const file of readdirSync(folder).filter((name) => name.endsWith(".yaml")).sort()) {
  for (const manifest of yaml.loadAll(readFileSync(join(folder, file), "utf8"))) {
    if (manifest == null) continue;
    const where = `${file}: ${manifest.kind ?? "?"} ${manifest.metadata?.name ?? "?"}`;
    const [group, version] = manifest.apiVersion.includes("/") ? manifest.apiVersion.split("/") : [null, manifest.apiVersion];
    const path = ["kubernetes-models", group, version, manifest.kind].filter(Boolean).join("/");
    let Model;
    try {
      Model = (await import(path))[manifest.kind];
    } catch {
      failures.push(`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
      continue;
    }
    try {
      new Model(manifest).validate();
    } catch (error) {
      failures.push(`${where}: ${error.message}`);
    }
    const type = `V${version.slice(1)}${manifest.kind}`;
    if (!client[type]?.attributeTypeMap) {
      failures.push(`${where}: the client has no model ${type}`);
    }
    failures.push(...unknownFields(manifest, type, "").map((field) => `${where}: ${field}`));
    checked++;
  }
}

if (failures.length > 0) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`${checked} manifests match the Kubernetes API's schemas`);
