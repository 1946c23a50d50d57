// Opened from file://, the browser refuses the fetch of each search result's page that Sphinx makes for its
// snippet (a CORS error per result): there, show the titles only. Served over HTTP, snippets are shown.
if (window.location.protocol === 'file:' && typeof DOCUMENTATION_OPTIONS !== 'undefined') {
  DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
}
