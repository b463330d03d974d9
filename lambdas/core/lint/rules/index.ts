/** Every rule: ids and kebab-case names as in lint-rules.md (one file per rule). */
import type { Rule } from '../types';
import { addColumnRequired } from './add-column-required';
import { dropNotNull } from './drop-not-null';
import { dropForeignKey } from './drop-foreign-key';
import { dropColumn } from './drop-column';
import { dropTable } from './drop-table';
import { dropSchemaOrDatabase } from './drop-schema-or-database';
import { renameColumn } from './rename-column';
import { renameTable } from './rename-table';
import { renameSchema } from './rename-schema';
import { renameEnumValue } from './rename-enum-value';
import { enumValueUnordered } from './enum-value-unordered';
import { unbatchedBackfill } from './unbatched-backfill';
import { createIndexNotConcurrently } from './create-index-not-concurrently';
import { dropIndexNotConcurrently } from './drop-index-not-concurrently';
import { reindexNotConcurrently } from './reindex-not-concurrently';
import { concurrentIndexNotIdempotent } from './concurrent-index-not-idempotent';
import { concurrentIndexBuggyPg14 } from './concurrent-index-buggy-pg14';
import { addColumnVolatileDefault } from './add-column-volatile-default';
import { addColumnDefaultPrePg11 } from './add-column-default-pre-pg11';
import { addColumnSerialOrIdentity } from './add-column-serial-or-identity';
import { addColumnStoredGenerated } from './add-column-stored-generated';
import { addColumnConstrainedDomain } from './add-column-constrained-domain';
import { alterColumnTypeRewrite } from './alter-column-type-rewrite';
import { alterColumnTypeCoercible } from './alter-column-type-coercible';
import { alterColumnTypeWithCheck } from './alter-column-type-with-check';
import { setNotNullScan } from './set-not-null-scan';
import { setDefault } from './set-default';
import { addCheckValidating } from './add-check-validating';
import { addForeignKeyValidating } from './add-foreign-key-validating';
import { addColumnReferences } from './add-column-references';
import { validateInBlockingTransaction } from './validate-in-blocking-transaction';
import { validateConstraint } from './validate-constraint';
import { addUniqueConstraint } from './add-unique-constraint';
import { addPrimaryKey } from './add-primary-key';
import { pkUsingIndexNullable } from './pk-using-index-nullable';
import { addExclusionConstraint } from './add-exclusion-constraint';
import { domainConstraint } from './domain-constraint';
import { vacuumFull } from './vacuum-full';
import { cluster } from './cluster';
import { refreshMatviewBlocking } from './refresh-matview-blocking';
import { setLoggedUnlogged } from './set-logged-unlogged';
import { setTablespaceOrAccessMethod } from './set-tablespace-or-access-method';
import { triggerDdl } from './trigger-ddl';
import { detachPartitionBlocking } from './detach-partition-blocking';
import { attachPartitionScan } from './attach-partition-scan';
import { truncate } from './truncate';
import { explicitLockTable } from './explicit-lock-table';
import { enumAddValueTransaction } from './enum-add-value-transaction';
import { concurrentlyInTransaction } from './concurrently-in-transaction';
import { missingLockTimeout } from './missing-lock-timeout';
import { missingStatementTimeout } from './missing-statement-timeout';
import { lockTimeoutTooLong } from './lock-timeout-too-long';
import { lockHeldAcrossSlowWork } from './lock-held-across-slow-work';
import { transactionNesting } from './transaction-nesting';
import { nonIdempotentOutsideTransaction } from './non-idempotent-outside-transaction';
import { preferBigint } from './prefer-bigint';
import { preferIdentity } from './prefer-identity';
import { preferTextField } from './prefer-text-field';
import { preferTimestamptz } from './prefer-timestamptz';
import { banCharField } from './ban-char-field';
import { preferJsonb } from './prefer-jsonb';
import { indexTooManyColumns } from './index-too-many-columns';
import { identifierTooLong } from './identifier-too-long';
import { requireTableSchema } from './require-table-schema';
import { duplicateColumnAssignment } from './duplicate-column-assignment';

export const RULES: readonly Rule[] = [
  addColumnRequired,
  dropNotNull,
  dropForeignKey,
  dropColumn,
  dropTable,
  dropSchemaOrDatabase,
  renameColumn,
  renameTable,
  renameSchema,
  renameEnumValue,
  enumValueUnordered,
  unbatchedBackfill,
  createIndexNotConcurrently,
  dropIndexNotConcurrently,
  reindexNotConcurrently,
  concurrentIndexNotIdempotent,
  concurrentIndexBuggyPg14,
  addColumnVolatileDefault,
  addColumnDefaultPrePg11,
  addColumnSerialOrIdentity,
  addColumnStoredGenerated,
  addColumnConstrainedDomain,
  alterColumnTypeRewrite,
  alterColumnTypeCoercible,
  alterColumnTypeWithCheck,
  setNotNullScan,
  setDefault,
  addCheckValidating,
  addForeignKeyValidating,
  addColumnReferences,
  validateInBlockingTransaction,
  validateConstraint,
  addUniqueConstraint,
  addPrimaryKey,
  pkUsingIndexNullable,
  addExclusionConstraint,
  domainConstraint,
  vacuumFull,
  cluster,
  refreshMatviewBlocking,
  setLoggedUnlogged,
  setTablespaceOrAccessMethod,
  triggerDdl,
  detachPartitionBlocking,
  attachPartitionScan,
  truncate,
  explicitLockTable,
  enumAddValueTransaction,
  concurrentlyInTransaction,
  missingLockTimeout,
  missingStatementTimeout,
  lockTimeoutTooLong,
  lockHeldAcrossSlowWork,
  transactionNesting,
  nonIdempotentOutsideTransaction,
  preferBigint,
  preferIdentity,
  preferTextField,
  preferTimestamptz,
  banCharField,
  preferJsonb,
  indexTooManyColumns,
  identifierTooLong,
  requireTableSchema,
  duplicateColumnAssignment,
];
