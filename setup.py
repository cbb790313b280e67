"Packaging for synthkit; every setting is read from settings.ini, which nbdev shares."
from configparser import ConfigParser
from pathlib import Path
import setuptools

here = Path(__file__).parent
cfg = ConfigParser(delimiters=['='])
cfg.read(here/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

def reqs(key): return cfg.get(key, '').split()

licenses = {'apache2': 'Apache-2.0'}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']
pys = ['3.10', '3.11', '3.12', '3.13']

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    long_description=(here/'README.md').read_text(encoding='utf-8'), long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license=licenses[cfg['license']], url=cfg['git_url'],
    keywords=cfg['keywords'].split(),
    classifiers=[f'Development Status :: {statuses[int(cfg["status"])]}', f'Intended Audience :: {cfg["audience"]}',
                 'Natural Language :: English', 'Framework :: Jupyter']
                + [f'Programming Language :: Python :: {v}' for v in pys],
    packages=setuptools.find_namespace_packages(include=['synthkit', 'synthkit.*']),
    package_data={'synthkit.data': ['*.jsonl', 'documents/*.*', 'documents/*/*.*']},
    python_requires=f'>={cfg["min_python"]}',
    install_requires=reqs('requirements'),
    extras_require={'local': reqs('local_requirements'), 'hf': reqs('hf_requirements'),
                    'dev': reqs('dev_requirements') + reqs('local_requirements')},
    entry_points={'console_scripts': cfg['console_scripts'].split(), 'nbdev': ['synthkit=synthkit._modidx:d']},
    zip_safe=False)
