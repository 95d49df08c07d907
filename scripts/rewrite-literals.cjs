// Rewrites every string and number literal of a script (stdin → stdout) to a different value of
// the same kind, the way a build system stamps new ids, hashes and timestamps into a bundle.
// Usage: node rewrite-literals.cjs PATH_TO_ACORN < in.js > out.js
const acorn = require(process.argv[2]);
const walk = (node, visit) => {
  if (!node || typeof node.type !== "string") return;
  visit(node);
  for (const key of Object.keys(node)) {
    const v = node[key];
    if (Array.isArray(v)) v.forEach((c) => walk(c, visit));
    else if (v && typeof v === "object" && typeof v.type === "string") walk(v, visit);
  }
};
let src = require("fs").readFileSync(0, "utf8");
const ast = acorn.parse(src, { ecmaVersion: "latest", sourceType: "script", allowHashBang: true });
// Property names are names, not values: `{"catch": f}` and `a["b"]` keep their keys.
const names = new Set();
walk(ast, (n) => {
  if ((n.type === "Property" || n.type === "MethodDefinition" || n.type === "PropertyDefinition") && !n.computed) names.add(n.key.start);
  if (n.type === "MemberExpression" && n.computed && n.property.type === "Literal") names.add(n.property.start);
});
const edits = [];
walk(ast, (n) => {
  if (n.type !== "Literal" || names.has(n.start)) return;
  if (typeof n.value === "string") edits.push([n.start, n.end, JSON.stringify("v" + n.value.length + "-" + n.start.toString(36))]);
  else if (typeof n.value === "number") edits.push([n.start, n.end, String(n.value + 7)]);
});
// Directives ("use strict") are statements, not values: keep them.
const directives = new Set();
walk(ast, (n) => { if (n.directive !== undefined) directives.add(n.expression.start); });
edits.sort((a, b) => b[0] - a[0]);
for (const [s, e, text] of edits) if (!directives.has(s)) src = src.slice(0, s) + text + src.slice(e);
process.stdout.write(src);
