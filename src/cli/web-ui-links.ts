/** Web UI links for a batch, one per view a person wants first: all of it, and the tasks that need a look. */
export function batchLinks(uiUrl: string, batchId: string, namespace = 'default'): { label: string; url: string }[] {
  const base = `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=`;
  const batch = `DtfRunId="${batchId}"`;
  const views: [string, string][] = [
    ['all tasks', batch],
    ['failed tests', `${batch} AND DtfStatus="failed"`],
    ['dead-lettered', `${batch} AND DtfStatus="dead_lettered"`],
    ['errors', `${batch} AND DtfStatus="error"`],
  ];
  return views.map(([label, query]) => ({ label, url: base + encodeURIComponent(query) }));
}
