// Sorting, filtering and local times for the report's table. Everything works on the table that
// is already in the page; without this script the page shows the same table, unsorted by hand.
(function () {
  "use strict";
  var table = document.getElementById("courses");
  if (!table || !table.tBodies.length) return;

  // Times: shown in UTC by the page, rewritten in the viewer's own time zone.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return null;
    var off = -d.getTimezoneOffset();
    var sign = off < 0 ? "-" : "+";
    off = Math.abs(off);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + " " + sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }
  var times = document.querySelectorAll("time[datetime]");
  for (var t = 0; t < times.length; t++) {
    var shown = localTime(times[t].getAttribute("datetime"));
    if (shown) { times[t].title = times[t].textContent; times[t].textContent = shown; }
  }

  var body = table.tBodies[0];
  // Each row with its text in lower case (for the filter) and its position in the page.
  var rows = Array.prototype.map.call(body.rows, function (row, i) {
    return { el: row, text: row.textContent.toLowerCase(), index: i, keys: [] };
  });
  var textBox = document.getElementById("filter-text");
  var auditBox = document.getElementById("filter-audit");
  var counter = document.getElementById("shown");

  function filter() {
    var needle = textBox.value.trim().toLowerCase();
    var state = auditBox.value;
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var show = (!state || r.el.getAttribute("data-audit") === state) &&
        (!needle || r.text.indexOf(needle) !== -1);
      r.el.hidden = !show;
      if (show) n++;
    }
    counter.textContent = "Showing " + n + " of " + rows.length + " course(s)";
  }

  // A cell's sort key: a time's machine form, "" for an empty cell, else its text.
  function key(row, col) {
    if (row.keys[col] === undefined) {
      var cell = row.el.cells[col];
      var k = "";
      if (cell && !cell.classList.contains("empty")) {
        var time = cell.querySelector("time[datetime]");
        k = time ? time.getAttribute("datetime") : cell.textContent.trim();
      }
      row.keys[col] = k;
    }
    return row.keys[col];
  }
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var digits = /^\d+$/;
  // Empty cells last in either direction; whole numbers (product ids exceed 2^53) by length, then
  // digit by digit; the rest by the viewer's collation.
  function compare(a, b) {
    if (digits.test(a) && digits.test(b)) {
      return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
    }
    return collator.compare(a, b);
  }

  var heads = table.tHead.rows[0].cells;
  function sortBy(col) {
    var th = heads[col];
    var descending = th.getAttribute("aria-sort") === "ascending";
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    rows.sort(function (x, y) {
      var a = key(x, col), b = key(y, col);
      if (a === "" || b === "") {
        if (a !== b) return a === "" ? 1 : -1;
      } else {
        var c = compare(a, b);
        if (c !== 0) return descending ? -c : c;
      }
      return x.index - y.index;
    });
    var frag = document.createDocumentFragment();
    for (var i = 0; i < rows.length; i++) frag.appendChild(rows[i].el);
    body.appendChild(frag);
  }
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector("button");
    if (button) button.addEventListener("click", function () { sortBy(col); });
  });

  textBox.addEventListener("input", filter);
  auditBox.addEventListener("change", filter);
  document.getElementById("controls").hidden = false;
  filter();
})();
