/* SynapseAI site behaviour. Everything here is an enhancement: every page works without it.
   - copy buttons on code blocks
   - starring without a page reload (the star form still posts without JS)
   - "add another option" on the submit form (the form has 3 slots without JS)
   - live "this looks like <entry>" hints while typing a submission
   No innerHTML with data: text from the server or the user is only ever set with textContent. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* ---------------------------------------------------------------- table of contents */
  // Open on wide screens (a sticky sidebar); folded on phones, where it sits above the content.
  if (window.matchMedia && window.matchMedia("(max-width: 1000px)").matches) {
    document.querySelectorAll("details.toc-details").forEach(function (d) { d.open = false; });
  }

  /* ---------------------------------------------------------------- copy */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy") ? resolve() : reject(new Error("copy failed")); }
      catch (err) { reject(err); }
      finally { document.body.removeChild(area); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var block = button.closest(".codeblock");
    var code = block && block.querySelector("pre code");
    if (!code) return;
    copyText(code.textContent).then(function () {
      button.textContent = "Copied!";
      button.classList.add("copied");
      setTimeout(function () { button.textContent = "Copy"; button.classList.remove("copied"); }, 1600);
    }, function () {
      button.textContent = "Press Ctrl+C";
    });
  });

  /* ---------------------------------------------------------------- stars */
  function setStar(form, starred, count) {
    var button = form.querySelector("button");
    form.querySelector('input[name="action"]').value = starred ? "unstar" : "star";
    button.classList.toggle("is-starred", starred);
    button.setAttribute("aria-pressed", starred ? "true" : "false");
    button.querySelector(".star-icon").textContent = starred ? "\u2605" : "\u2606";
    button.querySelector(".star-label").textContent = starred ? "Starred" : "Star";
    button.querySelector("[data-star-count]").textContent = String(count);
  }

  document.querySelectorAll("form[data-star-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch) return; // plain form post
      event.preventDefault();
      var wantStar = form.querySelector('input[name="action"]').value === "star";
      var button = form.querySelector("button");
      button.disabled = true;
      fetch(form.getAttribute("data-api"), {
        method: wantStar ? "POST" : "DELETE",
        headers: { "X-CSRF-Token": csrfToken(), "Accept": "application/json" },
        credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (data) {
        setStar(form, data.starred, data.stars);
      }).catch(function () {
        form.submit(); // fall back to the no-JS path, which shows any error page
      }).finally(function () {
        button.disabled = false;
      });
    });
  });

  /* ---------------------------------------------------------------- fix options */
  var slots = document.querySelector("[data-option-slots]");
  var addButton = document.querySelector("[data-add-option]");
  if (slots && addButton) {
    var max = parseInt(slots.getAttribute("data-max"), 10) || 8;
    var refresh = function () {
      addButton.hidden = slots.querySelectorAll("[data-option-slot]").length >= max;
    };
    addButton.addEventListener("click", function () {
      var all = slots.querySelectorAll("[data-option-slot]");
      var n = all.length + 1;
      var clone = all[all.length - 1].cloneNode(true);
      clone.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      clone.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
      clone.querySelector("[data-option-number]").textContent = String(n);
      clone.querySelectorAll("input, textarea").forEach(function (el) {
        el.value = "";
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
        el.id = el.name + "_" + n;
      });
      clone.querySelectorAll("label").forEach(function (label) {
        var target = label.getAttribute("for") || "";
        label.setAttribute("for", target.replace(/_\d+$/, "_" + n));
      });
      slots.appendChild(clone);
      clone.querySelector("input").focus();
      refresh();
    });
    refresh();
  }

  /* ---------------------------------------------------------------- duplicate hints */
  var dupBox = document.getElementById("duplicates");
  var sources = document.querySelectorAll("[data-dup-source]");
  if (dupBox && sources.length && window.fetch) {
    var timer = null;
    var lastQuery = "";
    var render = function (data) {
      var results = (data && data.results) || [];
      while (dupBox.firstChild) dupBox.removeChild(dupBox.firstChild);
      dupBox.classList.toggle("duplicates-strong", !!(data && data.matched));
      dupBox.hidden = !results.length;
      if (!results.length) return;
      var base = dupBox.getAttribute("data-entry-base");
      var lead = document.createElement("p");
      lead.className = "dup-lead";
      if (data.matched) {
        var strong = document.createElement("strong");
        strong.appendChild(document.createTextNode("This looks like "));
        var link = document.createElement("a");
        link.href = base + encodeURIComponent(results[0].slug);
        link.textContent = results[0].title;
        strong.appendChild(link);
        strong.appendChild(document.createTextNode("."));
        lead.appendChild(strong);
        lead.appendChild(document.createTextNode(" If it is the same problem, consider improving that entry instead."));
      } else {
        lead.textContent = "Similar existing entries. Check that yours is not one of them:";
      }
      dupBox.appendChild(lead);
      var list = document.createElement("ul");
      results.forEach(function (r) {
        var item = document.createElement("li");
        var a = document.createElement("a");
        a.href = base + encodeURIComponent(r.slug);
        a.textContent = r.title;
        item.appendChild(a);
        list.appendChild(item);
      });
      dupBox.appendChild(list);
    };
    var lookup = function () {
      var parts = [];
      sources.forEach(function (el) { if (el.value.trim()) parts.push(el.value.trim().slice(0, 1500)); });
      var query = parts.join("\n");
      if (query.length < 12 || query === lastQuery) return;
      lastQuery = query;
      var url = dupBox.getAttribute("data-search-url") + "?limit=3&q=" + encodeURIComponent(query);
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && query === lastQuery) render(data); })
        .catch(function () { /* hints are optional */ });
    };
    sources.forEach(function (el) {
      el.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(lookup, 450);
      });
    });
  }

  /* ---------------------------------------------------------------- form errors */
  // After a refused send, keyboard and screen-reader users start at the message that says what
  // to fix, not at the top of the page.
  var formBanner = document.getElementById("form-banner");
  if (formBanner) { formBanner.focus(); }
})();
