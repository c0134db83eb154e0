/**
 * Makes sure a Temporal namespace has the project's search attributes. The dev server's
 * `--search-attribute` flags register them only when it creates its SQLite database: a server started
 * on a database from before an attribute existed (`simclr services up` after an upgrade) lacks it, and
 * then every start or upsert that names it fails. So `services up` adds whatever is missing.
 */
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const IndexedValueType = proto.api.enums.v1.IndexedValueType;

/** The server's enum for each search attribute type. */
const INDEXED_TYPES: Record<string, proto.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Adds the project's search attributes missing from `namespace` at `address`; returns their names. */
export async function registerSearchAttributes(address: string, namespace = 'default'): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !(k.name in (customAttributes ?? {})));
    if (missing.length > 0)
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPES[k.type]])),
      });
    return missing.map((k) => k.name);
  } finally {
    await connection.close();
  }
}
