// Starts the API reference at /docs on this server's own /openapi.json. A file of its own, not an inline script, so
// the page runs under a Content-Security-Policy without 'unsafe-inline'; every asset comes from this server.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#reference",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
  });
});
