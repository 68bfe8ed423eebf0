<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" labelsEnabled="0">
 <renderer-v2 type="categorizedSymbol" attr="level" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="1" label="1 Tốt / Good" symbol="0" render="true" />
   <category value="2" label="2 Trung bình / Moderate" symbol="1" render="true" />
   <category value="3" label="3 Kém / Unhealthy for Sensitive Groups" symbol="2" render="true" />
   <category value="4" label="4 Xấu / Unhealthy" symbol="3" render="true" />
   <category value="5" label="5 Rất xấu / Very Unhealthy" symbol="4" render="true" />
   <category value="6" label="6 Nguy hại / Hazardous" symbol="5" render="true" />
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="0,228,0,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="3.7" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,255,0,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="3.7" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,126,0,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="3.7" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,0,0,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="3.7" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="143,63,151,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="3.7" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="marker" name="5" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="126,0,35,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="3.7" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="51,136,255,255" type="QString" />
      <Option name="outline_color" value="255,255,255,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="3.7" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
    </layer>
   </symbol>
  </source-symbol>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>0</layerGeometryType>
</qgis>
