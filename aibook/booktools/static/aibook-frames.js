// Sliders without a kernel: aibook.widgets.interact_frames stores every figure pre-rendered in the
// page; moving a range input (mouse, touch, or arrow keys when focused) shows the matching frame.
(function () {
  function setUp(box) {
    var data = JSON.parse(box.querySelector(".aibook-frames-data").textContent);
    var image = box.querySelector(".aibook-frames-image");
    var inputs = Array.prototype.slice.call(box.querySelectorAll("input[type=range]"));
    function update() {
      var key = [], parts = [];
      inputs.forEach(function (input) {
        var label = data.labels[input.dataset.name][Number(input.value)];
        key.push(input.value);
        parts.push((input.dataset.label || input.dataset.name) + " = " + label);
        input.setAttribute("aria-valuetext", label);
        input.parentNode.querySelector("output").textContent = label;
      });
      image.src = "data:image/png;base64," + data.frames[key.join(",")];
      image.alt = box.dataset.alt + "（" + parts.join("，") + "）";
    }
    inputs.forEach(function (input) { input.addEventListener("input", update); });
  }
  function init() { document.querySelectorAll(".aibook-frames").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
