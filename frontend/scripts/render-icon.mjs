// Rasterises icons/source.svg to icons/source.png (1024x1024) and icons/tray.svg
// to icons/tray.png (64x64). Run from frontend/: `node scripts/render-icon.mjs`,
// then `npx tauri icon ../icons/source.png -o ../icons`.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Resvg } from "@resvg/resvg-js";

const icons = resolve(dirname(fileURLToPath(import.meta.url)), "../../icons");

function render(svgName, pngName, size) {
  const svg = readFileSync(resolve(icons, svgName), "utf8");
  const png = new Resvg(svg, {
    fitTo: { mode: "width", value: size },
    background: "rgba(0,0,0,0)",
  })
    .render()
    .asPng();
  writeFileSync(resolve(icons, pngName), png);
  console.log(`wrote icons/${pngName} (${size}x${size})`);
}

render("source.svg", "source.png", 1024);
render("tray.svg", "tray.png", 64);
