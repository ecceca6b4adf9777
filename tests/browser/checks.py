"""What the browser tests check on any page: nothing wider than the window, and axe-core's
findings above minor (shared by the page walks and the tests of single pages)."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

ACCEPTED = {"minor"}  # impacts that do not fail: axe's others are moderate, serious, critical
AXE = Axe()

# How far past the window's width the page may reach (sub-pixel rounding).
SLACK = 1


def overflow(page: Page) -> list[str]:
    """The elements (tag#id.class) sticking out past the window's right edge."""
    return page.evaluate("""(slack) => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width + slack) { return []; }
      const out = [];
      for (const el of document.body.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        let clipped = false;
        for (let p = el.parentElement; p; p = p.parentElement) {
          const style = getComputedStyle(p);
          if (["auto", "scroll", "hidden"].includes(style.overflowX)) { clipped = true; break; }
        }
        if (!clipped && box.right > width + slack) {
          out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                   (el.className && typeof el.className === "string" ? "." + el.className : ""));
        }
      }
      return out.slice(0, 5);
    }""", SLACK)


def findings(page: Page) -> list[str]:
    """axe-core's violations above minor on the page as it stands: rule, impact, nodes."""
    results = AXE.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ACCEPTED:
            continue
        nodes = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list)
                          else str(n["target"]) for n in violation["nodes"][:5])
        found.append(f"{violation['id']} ({violation['impact']}): {nodes} "
                     f"[{len(violation['nodes'])} node(s)] {violation['help']}")
    return found
