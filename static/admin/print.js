// Printable pages (the yearly KPI report, the market's booth list): a [data-print] button
// 「印刷する」 opens the browser's print dialog (each page's print CSS leaves out the
// navigation and buttons).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
