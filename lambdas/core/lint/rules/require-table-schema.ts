import { hygieneRule } from '../rule-helpers';

/** TY609: an unqualified table name resolves through search_path, which differs between sessions. */
export const requireTableSchema = hygieneRule({
  id: 'TY609',
  name: 'require-table-schema',
  on: ['CreateStmt', 'AlterTableStmt', 'IndexStmt'],
  fix: 'Qualify the table: "schema"."table" (Prisma sets the schema through ?schema= instead)',
  check(ctx) {
    const rel = ctx.node.relation as { schemaname?: string; relname?: string } | undefined;
    if (!rel?.relname || rel.schemaname) return [];
    return [{ message: `table ${rel.relname} is not schema-qualified` }];
  },
});
