from charloom.cli import main

raise SystemExit(main())
