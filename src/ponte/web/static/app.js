// Ponte's page behaviour: expand rows, select rows, and live refresh of visible rows.
// Small and framework-free; htmx does the rest. Every feature also works by plain links and forms.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function loadDetails(id) {
    const box = document.getElementById("dc-" + id);
    const button = $("#row-" + id + " .expander");
    if (box && button && window.htmx) {
      htmx.ajax("GET", button.dataset.details, { target: box, swap: "innerHTML" });
    }
  }

  function toggle(button) {
    const row = button.closest("tr.row");
    const details = document.getElementById("d-" + row.dataset.id);
    if (!details) return;
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    details.hidden = !open;
    if (open && !details.querySelector(".details-body")) loadDetails(row.dataset.id);
  }

  document.addEventListener("click", (event) => {
    const navToggle = event.target.closest("#nav-toggle");
    if (navToggle) {
      const open = navToggle.getAttribute("aria-expanded") !== "true";
      navToggle.setAttribute("aria-expanded", open ? "true" : "false");
      navToggle.closest(".topbar").classList.toggle("nav-open", open);
      return;
    }
    const button = event.target.closest(".expander");
    if (button) { toggle(button); return; }
    // A click on a row (not on its links, buttons or inputs) opens its details, as operators expect.
    const cell = event.target.closest("tr.row td");
    if (cell && !event.target.closest("a, button, input, summary, details, label")) {
      const expander = $(".expander", cell.parentElement);
      if (expander) toggle(expander);
    }
    // Close open action menus when clicking elsewhere.
    $$("details.menu[open]").forEach((menu) => { if (!menu.contains(event.target)) menu.open = false; });
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") $$("details.menu[open]").forEach((menu) => { menu.open = false; $("summary", menu).focus(); });
    if (event.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
      const search = $("#f-id"); if (search) { event.preventDefault(); search.focus(); }
    }
  });

  // Filters send only what is filled in: "?status=error", not "?id=&q=&status=error&category=&from=&to=".
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches || !form.matches("form.filters") || form.method.toLowerCase() !== "get") return;
    const blank = $$("input[name], select[name]", form).filter((field) => !field.disabled && field.value === "");
    blank.forEach((field) => { field.disabled = true; });
    setTimeout(() => blank.forEach((field) => { field.disabled = false; }), 0);
  });

  // Row selection for "reprocess selected".
  function updateSelected() {
    const count = $$('input[name="ids"]:checked').length;
    $$("[data-selected-count]").forEach((el) => { el.textContent = count; });
    const button = $("#reprocess-selected"); if (button) button.disabled = count === 0;
  }
  document.addEventListener("change", (event) => {
    if (event.target.id === "select-all") $$('input[name="ids"]').forEach((box) => { box.checked = event.target.checked; });
    if (event.target.id === "af-connector") showConnector(event.target.value);
    updateSelected();
  });

  function showConnector(kind) {
    $$("fieldset.settings[data-connector]").forEach((set) => {
      if (!set.closest("form") || set.closest("form").action.indexOf("/affiliates/") !== -1) return;
      set.hidden = set.dataset.connector !== kind;
      // Connectors share setting names (base_url): only the chosen one's fields may travel with the form.
      set.disabled = set.hidden;
    });
  }

  // Live refresh: ask what changed — visible rows, status counts, tab badges, new rows ahead of the first one —
  // and swap only that, keeping filter, selection and open details.
  function liveTick(indicator) {
    const rows = $$("tr.row[data-stamp]");
    if (document.hidden) return;
    const known = rows.slice(0, 500).map((r) => r.dataset.id + "." + r.dataset.stamp).join(",");
    const url = indicator.dataset.liveUrl;
    const query = (url.indexOf("?") === -1 ? "?" : "&") + "s=" + encodeURIComponent(known) + "&c=" + encodeURIComponent(indicator.dataset.counts || "");
    fetch(url + query, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then((response) => {
        indicator.classList.toggle("is-off", !response.ok);
        return response.status === 200 ? response.text() : "";
      })
      .then((html) => { if (html) applyLive(indicator, html); })
      .catch(() => indicator.classList.add("is-off"));
  }

  function applyLive(indicator, html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const meta = $("#live-meta", template.content);
    if (meta) {
      if (meta.dataset.counts) indicator.dataset.counts = meta.dataset.counts;
      ["#counts", "#tabs"].forEach((sel) => {
        const fresh = $(sel, meta), current = $(sel);
        if (fresh && current) current.replaceWith(fresh);
      });
      const bar = $("#new-rows"), link = $(".new-rows-link", meta);
      if (bar) { bar.replaceChildren(); if (link) bar.appendChild(link); }
    }
    swapRows(template.content);
  }

  function swapRows(content) {
    $$("tr.row", content).forEach((fresh) => {
      const current = document.getElementById(fresh.id);
      if (!current) return;
      const wasOpen = $(".expander", current).getAttribute("aria-expanded") === "true";
      const checked = $('input[name="ids"]', current);
      const box = $('input[name="ids"]', fresh);
      if (checked && box) box.checked = checked.checked;
      $(".expander", fresh).setAttribute("aria-expanded", wasOpen ? "true" : "false");
      current.replaceWith(fresh);
      fresh.classList.add("flash-change");
      if (window.htmx) htmx.process(fresh);
      if (wasOpen) loadDetails(fresh.dataset.id);
    });
    resort();
    updateSelected();
  }

  // The list's order: newest processing first, never-processed rows before, then by id (as the server sorts).
  function resort() {
    const body = $("#rows");
    if (!body) return;
    const rows = $$("tr.row", body);
    const key = (r) => [r.dataset.at || "~", -Number(r.dataset.id)];
    const sorted = rows.slice().sort((a, b) => {
      const x = key(a), y = key(b);
      return x[0] === y[0] ? y[1] - x[1] : (x[0] < y[0] ? 1 : -1);
    });
    if (sorted.every((r, i) => r === rows[i])) return;
    const more = document.getElementById("more-row");  // "load more" stays last
    sorted.forEach((row) => {
      const details = document.getElementById("d-" + row.dataset.id);
      body.insertBefore(row, more);
      if (details) body.insertBefore(details, more);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const indicator = $("#live-status");
    if (indicator) setInterval(() => liveTick(indicator), Number(indicator.dataset.interval || 3000));
    const connector = $("#af-connector"); if (connector) showConnector(connector.value);
    updateSelected();
  });
})();
