/* Waymark form embed: renders the form into this page and posts it to Waymark (CORS, no cookies). */
(function () {
  "use strict";
  var config = {{ config|safe }};
  var script = document.currentScript;
  var host = document.createElement("div");
  host.className = "wm-embed";
  host.setAttribute("data-wm-embed", config.slug);
  script.parentNode.insertBefore(host, script.nextSibling);
  if (!document.querySelector('link[data-wm-stylesheet]')) {
    var sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.href = config.stylesheet;
    sheet.setAttribute("data-wm-stylesheet", "");
    document.head.appendChild(sheet);
  }

  function notice(text, kind) {
    var box = document.createElement("div");
    box.className = kind === "done" ? "wm-form wm-done" : "wm-alert";
    box.setAttribute("role", kind === "done" ? "status" : "alert");
    var p = document.createElement("p");
    p.className = kind === "done" ? "wm-thanks" : "";
    p.textContent = text;
    box.appendChild(p);
    return box;
  }

  function load(html) {
    host.innerHTML = html;
    var form = host.querySelector("form[data-wm-form]");
    if (!form) { return; }
    var page = form.querySelector('input[name="wm_page"]');
    if (page) { page.value = window.location.href; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      if (button) { button.disabled = true; }
      fetch(form.action, {method: "POST", body: new FormData(form), headers: {"Accept": "application/json"},
                          mode: "cors", credentials: "omit"})
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (body.ok && body.redirect) { window.location.href = body.redirect; return; }
          if (body.ok && body.html) { host.innerHTML = body.html; return; }
          if (body.ok) { host.innerHTML = ""; host.appendChild(notice(body.message, "done")); return; }
          if (body.html) { load(body.html); return; }
          form.insertBefore(notice(body.message || "Something went wrong. Please try again."), form.firstChild);
          if (button) { button.disabled = false; }
        })
        .catch(function () {
          form.insertBefore(notice("We could not send the form. Please try again."), form.firstChild);
          if (button) { button.disabled = false; }
        });
    });
  }

  fetch(config.fragment, {mode: "cors", credentials: "omit"})
    .then(function (response) { return response.text(); })
    .then(load)
    .catch(function () { host.appendChild(notice("The form could not be loaded.")); });
})();
