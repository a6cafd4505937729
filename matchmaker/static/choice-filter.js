/* Type-to-filter for long checkbox and radio lists (fieldsets marked data-choice-filter).
   Progressive enhancement: without this script the filter box stays hidden and every choice is shown.
   Hidden choices keep their state: a ticked box that the filter hides is still sent with the form. */
(function () {
  "use strict";

  function normalise(text) {
    return text.toLocaleLowerCase().replace(/\s+/g, " ").trim();
  }

  function applyFilter(list, box) {
    var wanted = normalise(box.value);
    var shown = 0;
    list.querySelectorAll(".choice-items li").forEach(function (item) {
      var matches = wanted === "" || normalise(item.textContent).indexOf(wanted) !== -1;
      item.hidden = !matches;
      if (matches) shown += 1;
    });
    list.querySelectorAll(".choice-group").forEach(function (group) {
      group.hidden = group.querySelector(".choice-items li:not([hidden])") === null;
    });
    var none = list.querySelector(".choice-none");
    if (none) none.hidden = shown > 0;
  }

  function enhance(list) {
    var box = list.querySelector(".choice-filter");
    if (!box) return;
    box.hidden = false;
    box.addEventListener("input", function () { applyFilter(list, box); });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();  // typing in the filter never submits the form
    });
  }

  document.querySelectorAll("[data-choice-filter]").forEach(enhance);
})();
