import { defineRule } from '../rule-helpers';

/** TX205: BEGIN inside BEGIN, COMMIT without BEGIN, or BEGIN never committed. */
export const transactionNesting = defineRule({
  id: 'TX205',
  name: 'transaction-nesting',
  on: ['TransactionStmt'],
  severity: 'careful',
  lock: 'none',
  blocks: 'nothing; but the file does not run the way it reads',
  rewrites: 'none',
  fix: 'Leave transactions to the runner (a file runs as one transaction), or write exactly one BEGIN ... COMMIT per block',
  check(ctx) {
    switch (ctx.txn.structure) {
      case 'nested-begin':
        return [{ message: 'BEGIN inside a transaction block: PostgreSQL only warns, and the first COMMIT ends the outer block' }];
      case 'commit-without-begin':
        return [{ message: 'COMMIT without a BEGIN in this file: it does nothing in autocommit, and would commit a runner transaction halfway' }];
      case 'begin-without-commit':
        return [{ message: 'BEGIN without a COMMIT: the block is never committed and its changes are rolled back when the session ends' }];
      default:
        return [];
    }
  },
});
