// Class x skill heatmap: hover or focus a cell to read it in words; arrow keys move between
// cells (one tab stop for the whole grid). Without script the cells' titles still show.
(function () {
  var table = document.querySelector("table.heat");
  if (!table) return;
  var say = document.getElementById(table.dataset.say);
  var heads = table.querySelectorAll("thead th");
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  function words(td) {
    var tr = td.parentNode, col = td.cellIndex;
    return tr.cells[0].querySelector("a").textContent + " · " + heads[col].title + ": " + (td.title || "no answers yet");
  }
  function show(td) { if (td && td.cellIndex > 1) say.textContent = words(td); }
  rows.forEach(function (tr, i) {
    for (var j = 2; j < tr.cells.length; j++) tr.cells[j].tabIndex = (i === 0 && j === 2) ? 0 : -1;
  });
  table.addEventListener("mouseover", function (e) { if (e.target.tagName === "TD") show(e.target); });
  table.addEventListener("focusin", function (e) { if (e.target.tagName === "TD") show(e.target); });
  table.addEventListener("keydown", function (e) {
    var td = e.target;
    if (td.tagName !== "TD") return;
    var r = td.parentNode.sectionRowIndex, c = td.cellIndex;
    var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    var m = moves[e.key];
    if (!m) return;
    var tr = rows[r + m[0]], next = tr && tr.cells[Math.max(2, c + m[1])];
    if (!next) return;
    e.preventDefault();
    td.tabIndex = -1; next.tabIndex = 0; next.focus();
  });
})();
