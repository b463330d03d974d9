import { relationName } from '../ast';
import { alterTableOf, defineRule } from '../rule-helpers';

const TRIGGER_CMDS = new Set(['AT_EnableTrig', 'AT_DisableTrig', 'AT_EnableTrigAll', 'AT_DisableTrigAll', 'AT_EnableTrigUser', 'AT_DisableTrigUser', 'AT_EnableAlwaysTrig', 'AT_EnableReplicaTrig']);

/** LK406: trigger DDL takes SHARE ROW EXCLUSIVE: brief, but writes queue behind it while it waits. */
export const triggerDdl = defineRule({
  id: 'LK406',
  name: 'trigger-ddl',
  on: ['CreateTrigStmt', 'AlterTableStmt'],
  severity: 'careful',
  lock: 'SHARE ROW EXCLUSIVE, brief',
  blocks: 'INSERT, UPDATE, DELETE while waiting and while held',
  rewrites: 'none',
  fix: 'Keep it alone in a short transaction under lock_timeout (our apply does); check the trigger function cost on the write path',
  check(ctx) {
    if (ctx.stmt.nodeType === 'CreateTrigStmt') {
      const table = relationName(ctx.node.relation);
      if (ctx.isNewTable(table)) return [];
      return [{ message: `CREATE ${ctx.node.replace ? 'OR REPLACE ' : ''}TRIGGER ${ctx.node.trigname as string} on ${table} blocks writes while it waits for its lock` }];
    }
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds
      .filter((c) => TRIGGER_CMDS.has(c.subtype as string))
      .map((c) => ({ message: `${(c.subtype as string).startsWith('AT_Disable') ? 'DISABLE' : 'ENABLE'} TRIGGER on ${at.table} blocks writes while it waits for its lock` }));
  },
});
