// 計画の目標's printable yearly report: 「印刷する」 opens the browser's print dialog (the
// print rules in goals.css leave out the navigation and buttons).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
