// The printable booth list: 「印刷する」 opens the browser's print dialog (the print CSS in
// market_results.css leaves out the navigation and buttons).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
