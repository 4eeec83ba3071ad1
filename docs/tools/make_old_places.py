"""Writes knowledge/data/old_places.yaml from the old->new mapping of the vietnamadminunits
dataset (run by hand, once per new release of it; not part of the bot):

    pip download vietnamadminunits --no-deps -d /tmp/vau && unzip /tmp/vau/*.whl -d /tmp/vau
    .venv/bin/python docs/tools/make_old_places.py /tmp/vau/vietnamadminunits/data/
"""
import json, sys
from vietnam_provinces import Province, Ward
D = sys.argv[1].rstrip("/") + "/"
c = json.load(open(D + "converter_2025.json")); l = json.load(open(D + "parser_legacy.json"))
hp = next(p for p in Province.iter_all() if "Hải Phòng" in p.name)
wards = list(Ward.iter_by_province(hp.code))
assert len(wards) == 114
units = {w.codename.replace("_", ""): w for w in wards}
units.update({w.name.lower().replace(" ", ""): w for w in wards})
plain_units = {w.codename.replace("_", "") for w in wards}
new_of: dict[str, list[str]] = {}
for newkey, olds in c["DICT_PROVINCE_WARD_NO_DIVIDED"]["thanhphohaiphong"].items():
    for old in olds:
        new_of.setdefault(old, []).append(newkey)
for old, news in c["DICT_PROVINCE_WARD_DIVIDED"]["thanhphohaiphong"].items():
    ordered = sorted(news, key=lambda n: not n["isDefaultNewWard"])
    new_of[old] = [n["newWardKey"] for n in ordered]
districts = {}; communes = []
for prov in ("thanhphohaiphong", "tinhhaiduong"):
    for dkey, dinfo in l["DICT_PROVINCE_DISTRICT"][prov].items():
        wards = l["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"][prov].get(dkey, {})
        dunits = []
        if not wards:  # Bạch Long Vĩ: no wards
            key = f"{prov}_{dkey}_"
            dunits = new_of.get(key, [])
        for wkey, winfo in wards.items():
            key = f"{prov}_{dkey}_{wkey}"
            news = new_of.get(key)
            if not news:
                print("unmapped", key, file=sys.stderr); continue
            names = [units[n].name for n in news]
            own = winfo["ward"].lower()
            also = [k for k in winfo["wardKeywords"] if k.startswith(("phuong", "xa", "thitran"))
                    and k != key.split("_")[-1] and k not in plain_units]
            communes.append((winfo["ward"], dinfo["district"], names, also))
            for n in names:
                if n not in dunits: dunits.append(n)
        if not dunits:  # Bạch Long Vĩ: a district without communes
            dunits = [units[n].name for n in new_of.get(f"{prov}_{dkey}_", [])]
        dunits = [units[n].name if n in units else n for n in dunits]
        districts[dinfo["district"]] = dunits
out = ["# Old names (before 1 July 2025) of Hải Phòng's and Hải Dương's districts and communes, and",
       "# the units of two-level government they became, by Nghị quyết 1669/NQ-UBTVQH15",
       "# (16/6/2025) on rearranging the commune-level units of Hải Phòng. Generated once from the",
       "# mapping in the open dataset vietnamadminunits 1.0.4 (MIT, github.com/tranngocminhhieu/",
       "# vietnamadminunits), which encodes that resolution; unit names are those of the package",
       "# vietnam-provinces; docs/tools/make_old_places.py wrote it. An old commune split between",
       "# units lists the main one first; `also`",
       "# are the dataset's keywords (words run together, no diacritics) for names older still,",
       "# e.g. thitrannuideo (thị trấn Núi Đèo, merged into phường Thủy Đường in 2025).",
       "districts:"]
for name, us in districts.items():
    out.append(f"  - name: {name}")
    out.append(f"    units: [{', '.join(us)}]")
out.append("communes:")
for name, dist, us, also in communes:
    out.append(f"  - name: {name}")
    out.append(f"    district: {dist}")
    out.append(f"    units: [{', '.join(us)}]")
    if also:
        out.append(f"    also: [{', '.join(also)}]")
open("knowledge/data/old_places.yaml", "w").write("\n".join(out) + "\n")
print(len(districts), len(communes))
